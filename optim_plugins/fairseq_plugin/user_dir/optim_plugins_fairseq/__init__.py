"""Imported by ``fairseq-train --user-dir <this folder>`` as the top-level module ``optim_plugins_fairseq``.

It registers the adapters of the canonical ``optim_plugins.fairseq_plugin`` module (so a second
registration by the startup hook is a no-op). Where the project is not installed, the repository
that holds this folder is put on ``sys.path`` first.
"""

import importlib.util
import sys
from pathlib import Path

if importlib.util.find_spec("optim_plugins") is None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[4]))

import optim_plugins.fairseq_plugin  # noqa: E402,F401  (registers on import)
