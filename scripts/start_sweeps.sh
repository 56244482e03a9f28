#!/bin/bash
# Start benchmark sweeps in the background, one thread each (never more processes than cores), each
# with its log in runs/<package>/sweep-<benchmark>.log (sweep-<benchmark>+a+b.log for one run with
# --candidates a b); every sweep is resumable and shares its rows
# with any other sweep of the same benchmark, so starting one again after a stop loses nothing:
#     bash scripts/start_sweeps.sh "nmt benchmark --benchmark bible-cpu" "vision benchmark --benchmark fmnist-resnet"
# Each argument is what follows `python -m`. Pause them for timing with scripts/with_sweeps_paused.sh;
# stop them with `pkill -f -- "-m (nmt|gan|vision)[ .]benchmark|-m optim_suite settle"` (a killed run resumes from its
# last checkpoint). `optim_suite settle ...` (a user's optimizer through the benchmarks) is a sweep too; its log is
# runs/settle/sweep-<--name or the optimizer>.log.
# See what a sweep will cost first: `python -m nmt benchmark --benchmark bible-cpu --plan` (nothing trained or written).
set -eu
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
. scripts/sweep_patterns.sh
cores=$(nproc)
running=$(pgrep -fc -- "$SWEEPS" || true)  # the sweeps' python processes
if [ $(( running + $# )) -gt "$cores" ]; then
    echo "start_sweeps: $running sweep(s) already running and $# more asked for, on $cores cores: not starting" >&2
    exit 2
fi
# jemalloc, where installed (scripts/setup_env.sh: Debian's libjemalloc2), with freed memory never
# handed back to the kernel: glibc returns fairseq's large per-update tensors (the 4096 x 8000 logits,
# ~130 MB each) to the kernel and faults them in again, zeroed, on the next update. Seen on the
# bible-cpu sweep itself (2026-12-04, 1 thread beside a vision sweep): 86k page faults/s and a quarter
# of the process's CPU time in the kernel with glibc; 500 faults/s, no kernel time and 0.33 -> 0.47
# updates/s with this. Memory stays at the run's peak (about 2 GB a Transformer run). Numbers unchanged.
# The vision sweep has no such churn (a few hundred faults/s), nothing to gain, so only the NMT
# sweeps get it (vision runs took 940-1034 s with it, 1075-1102 s after without it: no effect seen).
JEMALLOC=${JEMALLOC-/usr/lib/x86_64-linux-gnu/libjemalloc.so.2}
if [ -n "$JEMALLOC" ] && [ ! -e "$JEMALLOC" ]; then
    echo "start_sweeps: no jemalloc at '$JEMALLOC' (apt-get install libjemalloc2): glibc malloc, NMT runs ~1.4x slower" >&2
    JEMALLOC=""
fi
for sweep in "$@"; do
    read -r package _ <<< "$sweep"
    package=${package%%.*}  # gan.benchmark -> gan
    name=$(sed -n 's/.*--benchmark[ =]\([^ ]*\).*/\1/p' <<< "$sweep")
    if [ "$package" = optim_suite ]; then  # settle: named for its candidate
        package=settle
        name=$(sed -n -e 's/.*--name[ =]\([^ ]*\).*/\1/p' <<< "$sweep")
        [ -n "$name" ] || name=$(sed -n 's/.*--optimizer[ =]\([^ ]*\).*/\1/p' <<< "$sweep" | tr -c 'A-Za-z0-9_.\n-' '-')
    fi
    # a sweep restricted to some candidates (--candidates a b) logs apart from one of the same benchmark
    # with others: runs/nmt/sweep-bible-cpu+a+b.log
    read -ra words <<< "$sweep"
    for ((i = 0; i < ${#words[@]}; i++)); do
        [ "${words[i]}" = --candidates ] || continue
        for ((j = i + 1; j < ${#words[@]}; j++)); do
            case ${words[j]} in -*) break ;; esac
            name="$name+${words[j]}"
        done
    done
    # The LSTM benchmarks' batches vary in shape far more: with memory never handed back a run grew
    # to 5.2 GB within 6 minutes (adashift-authors, full) and a diverged grid run to 12.5 GB, which
    # was OOM-killed beside another (2026-12-05, bible-lstm-cpu). jemalloc's own 10 s decay kept a
    # diverged run at 1.4 GB, at the price of ~14% of its CPU time in page faults (stime, measured
    # beside the other sweep): safe first. That decay cost far more in healthy runs: two
    # bible-lstm-cpu runs side by side spent 36% of their CPU time in the kernel (130k page faults/s,
    # 0.24 updates/s; 2026-12-06). jemalloc 5.3 hands a freed extent of 8 MiB or more back at once
    # (MADV_DONTNEED) whenever both decays are set, and its "huge" arena for such allocations runs
    # with decay 0; the LSTM's backward (oneDNN) frees 8-16 MiB buffers tens of times a second and
    # faulted each one in zeroed again (seen with strace and perf; raising oversize_threshold alone
    # changed nothing). So the LSTM runs keep the 10 s dirty decay but never force pages out:
    # muzzy_decay_ms:-1 turns the eager purge off and oversize_threshold:0 the huge arena, so a
    # freed page goes lazy (MADV_FREE) after 10 s; the kernel takes such pages back when memory runs
    # short, and reusing one it did not take costs no fault. Measured beside the other run: 1.1k
    # faults/s, under 1% of the CPU in the kernel, 3.1 GB resident (0.9 GB of it lazy) and flat
    # after 5 minutes, where never handing memory back had grown to 11.7 GB in 27 minutes.
    conf=dirty_decay_ms:-1,muzzy_decay_ms:-1
    case "$name $sweep" in *lstm*) conf=dirty_decay_ms:10000,muzzy_decay_ms:-1,oversize_threshold:0 ;; esac
    preload=()
    if { [ "$package" = nmt ] || { [ "$package" = settle ] && grep -q bible <<< "$sweep"; }; } && [ -n "$JEMALLOC" ]; then
        preload=(env "LD_PRELOAD=$JEMALLOC${LD_PRELOAD:+:$LD_PRELOAD}" "MALLOC_CONF=$conf")
    fi
    mkdir -p "runs/$package"
    log="runs/$package/sweep-${name:-default}.log"
    # shellcheck disable=SC2086 # the argument is a command line, split on purpose
    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 nohup "${preload[@]}" $PY -m $sweep >> "$log" 2>&1 &
    echo "started: python -m $sweep (pid $!, log $log)"
done
