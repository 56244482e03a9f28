#!/usr/bin/env bash
# The checks to run on a machine with a CUDA GPU (none of the sessions so far had one), in order:
# the CUDA tests (the Triton kernels natively, CPU -> CUDA resume), the optimizer benchmark on the
# GPU, and the Triton kernels' speed against torch's fused Adam. Results under benchmarks/results/.
#
#     bash scripts/gpu_checks.sh            # after `make setup`
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
$PY -c "import torch; assert torch.cuda.is_available(), 'no CUDA device here'; print(torch.cuda.get_device_name(0))"
$PY -m pytest -q tests/test_optimizers.py tests/test_optimizer_input.py tests/test_diagnostics.py
$PY scripts/bench_optimizers.py --device cuda
$PY scripts/bench_optimizers.py --device cuda --params 2e6 --rounds 30
# The GPU benchmark twins, longest last (each resumable: rows land under results/nmt/<name>/runs/).
# Set GPU_TWINS to choose, e.g. GPU_TWINS="bible-lstm-gpu"; GPU_TWINS="" skips them.
for twin in ${GPU_TWINS-bible-lstm-gpu bible-gpu}; do
  $PY -m nmt benchmark --benchmark "$twin"
done
# The image-classification twin needs CIFAR-10 (not downloadable here): CIFAR10_DIR=folder holding cifar-10-batches-py
if [ -n "${CIFAR10_DIR:-}" ]; then
  $PY -m vision benchmark --benchmark cifar10-resnet18-gpu --data-dir "$CIFAR10_DIR"
fi
