#!/bin/bash
# Run a command with this machine's background sweeps paused, so it can be timed on idle cores:
#     bash scripts/with_sweeps_paused.sh python scripts/bench_optimizers.py --params 2e6 25e6
# Every process of a sweep (nmt/gan/vision benchmarks, optim-suite settle, and the fairseq-train or gan.train
# they start; scripts/sweep_patterns.sh) gets SIGSTOP before the command and SIGCONT after it, also when
# the command fails or is interrupted (trap on EXIT). A paused run loses nothing: it continues where it stopped.
set -u
. "$(dirname "$0")/sweep_patterns.sh"
pids=$(ps -eo pid,args | grep -v grep | grep -E -- "$SWEEP_WORK" \
       | awk -v self=$$ '$1 != self {print $1}')  # never this script (its own arguments may match)
if [ -n "$pids" ]; then
    kill -STOP $pids 2>/dev/null
    trap 'kill -CONT $pids 2>/dev/null' EXIT
    trap 'exit 130' INT TERM
    sleep 2  # let the cores drain
fi
"$@"
