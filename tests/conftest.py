"""Test tiers: ``make test-fast`` runs the unit tier (optimizers, parsers, theory; under a minute),
``make test`` everything. A test is in the integration tier when its module runs real programs
(fairseq, torchrun, the demo, a browser, the benchmarks) or it is marked ``integration``/``slow``."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # tests import their helpers (reference_optimizers, ...)

INTEGRATION_MODULES = {"test_fairseq_plugin", "test_demo", "test_gan", "test_nmt_benchmark", "test_gan_benchmark",
                       "test_bench"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.module.__name__ in INTEGRATION_MODULES or item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.integration)
