"""Test tiers: ``make test-fast`` runs the unit tier (optimizers, parsers, theory; under a minute),
``make test`` everything. A test is in the integration tier when its module runs real programs
(fairseq, torchrun, the demo, a browser, the benchmarks), runs the Triton kernels under the
interpreter, or is marked ``integration``/``slow``."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # tests import their helpers (reference_optimizers, ...)

# Without a GPU the Triton kernels run on CPU tensors under Triton's interpreter, which must be
# switched on before triton is imported (tests/test_optimizers.py, path "triton"); with CUDA they
# run natively in the CUDA tests.
if "triton" not in sys.modules:
    import torch

    if not torch.cuda.is_available():
        os.environ.setdefault("TRITON_INTERPRET", "1")

INTEGRATION_MODULES = {"test_fairseq_plugin", "test_demo", "test_gan", "test_nmt_benchmark", "test_gan_benchmark",
                       "test_bench", "test_hardening_cli", "test_gpu_checks", "test_docs", "test_integrations",
                       "test_slurm", "test_settle"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        # the Triton kernels under the interpreter take seconds a test: integration tier (make test)
        if item.module.__name__ in INTEGRATION_MODULES or item.get_closest_marker("slow") or "triton" in item.name:
            item.add_marker(pytest.mark.integration)
