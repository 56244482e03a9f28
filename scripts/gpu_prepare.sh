#!/usr/bin/env bash
# Prepare, here (with the package registry), what the GPU checks need on the device's bare image,
# which has python3 3.12 with torch 2.11, triton 3.6, torchvision, numpy, cython, ninja and no
# registry. Everything goes under .gpudeps/ (git-ignored; carried with the tree, ~15 MB):
#   .gpudeps/site/     pure-Python and cp312 manylinux packages, unpacked (put on PYTHONPATH by
#                      scripts/gpu_checks.py): fairseq's
#                      dependencies the image lacks (hydra-core, omegaconf, antlr4, bitarray, PyYAML),
#                      setuptools (fairseq's build)
#   .gpudeps/fairseq/  fairseq-fixed 0.12.3.1's source; the fairseq step builds its extensions there
#                      against the image's torch (timed: the JSON says what the build cost)
# It also prepares the Bible data the fairseq step trains on (outputs/nmt/bench-bible-cpu/bin).
#     bash scripts/gpu_prepare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
pip() { "$PY" -m pip --disable-pip-version-check "$@"; }
rm -rf .gpudeps && mkdir -p .gpudeps/wheels .gpudeps/site
BINARY="--only-binary=:all: --python-version 3.12 --implementation cp --abi cp312 --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64"
pip download -q --no-deps -d .gpudeps/wheels $BINARY bitarray==3.12.3 PyYAML==6.0.3  # regex: sacrebleu brings it
pip download -q --no-deps -d .gpudeps/wheels --only-binary=:all: hydra-core==1.3.2 omegaconf==2.3.0 \
    packaging==26.3 setuptools==80.10.2
# GPU_PYTEST=1: also pytest and hypothesis, so the suite's own CUDA tests run there too (5.6 MB more: with the
# Fashion-MNIST data and the Bible binaries the carried paths then exceed the 64 MiB a call may carry)
if [ "${GPU_PYTEST:-0}" = 1 ]; then
  pip download -q --no-deps -d .gpudeps/wheels --only-binary=:all: pytest==9.2.0 pluggy==1.7.0 iniconfig==2.3.1 \
      hypothesis==6.170.15 sortedcontainers==2.4.0 attrs
fi
pip wheel -q --no-deps -w .gpudeps/wheels antlr4-python3-runtime==4.9.3   # an sdist only: pure Python
for wheel in .gpudeps/wheels/*.whl; do "$PY" -m zipfile -e "$wheel" .gpudeps/site; done
pip download -q --no-deps --no-binary :all: --no-build-isolation -d .gpudeps/wheels fairseq-fixed==0.12.3.1
mkdir -p .gpudeps/fairseq && tar -xzf .gpudeps/wheels/fairseq*fixed*.tar.gz -C .gpudeps/fairseq --strip-components 1
rm -rf .gpudeps/wheels .gpudeps/fairseq/tests .gpudeps/fairseq/docs
# the examples (17 MB of the 23) are not imported by training; the tree may carry 64 MiB in all
find .gpudeps/fairseq/fairseq/examples -mindepth 1 -maxdepth 1 ! -name __init__.py -exec rm -rf {} +
find .gpudeps -name __pycache__ -prune -exec rm -rf {} +
# the Bible data the fairseq step trains on (the bible-cpu benchmark's, prepared once)
"$PY" -c "from nmt.benchmark import BENCHMARKS; from nmt.prepare import prepare; from pathlib import Path; b = BENCHMARKS['bible-cpu']; prepare(b.corpus, Path('outputs/nmt/bench-bible-cpu'), b.valid, b.test, b.max_train, b.vocab_size, seed=1)" >/dev/null
du -sh .gpudeps outputs/nmt/bench-bible-cpu/bin data/debs/dataset-fashion-mnist
