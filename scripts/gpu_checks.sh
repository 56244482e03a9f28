#!/usr/bin/env bash
# The GPU checks in one 15-minute device window (scripts/gpu_checks.py has the steps and their boxes).
#
#     bash scripts/gpu_checks.sh OUT             # on the GPU machine: <= 8 minutes on an H100
#     bash scripts/gpu_checks.sh --dry-run OUT   # the rehearsal on the CPU at tiny sizes (< 3 min; make test runs it)
#
# The one call (the device tool; no project virtual environment there: the image's python3, torch 2.11, triton 3.6):
#     bash scripts/gpu_prepare.sh     # here, once: .gpudeps/ (fairseq's source and missing deps, pytest) and the Bible data
#     run(command="bash scripts/gpu_checks.sh $OUT", timeout_s=540,
#         carry=[".gpudeps", "outputs/nmt/bench-bible-cpu/bin", "data/debs/dataset-fashion-mnist"])
# then give_back. The JSON goes to benchmarks/results/gpu_checks-<date>.json; its numbers to
# docs/benchmarks.md ("The GPU checks") and the README's CUDA line.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
exec "$PY" scripts/gpu_checks.py "$@"
