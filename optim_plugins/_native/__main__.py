"""``python -m optim_plugins._native``: build (or find) the CPU kernels; exit 1 if they cannot be built."""

import logging
import sys

from . import cpu_kernels

logging.basicConfig(level=logging.INFO, format="%(message)s")
module = cpu_kernels()
print(f"optim_plugins CPU kernels: {module.__file__ if module else 'unavailable'}")
sys.exit(0 if module else 1)
