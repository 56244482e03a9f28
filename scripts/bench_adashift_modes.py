"""AdaShift reduce "none" on one large CPU tensor: the kernel's three loops against torch's fused Adam.

    python scripts/bench_adashift_modes.py [--numel 26000000]

The CPU kernel (optim_plugins/_native/cpu_kernels.cpp) picks a loop per tensor: "uniform" when all
elements' gates opened at the same step (dense layers), "active" when they opened at different
steps (a table lookup per element), "activating" while many are still closed (it also writes
active_since); "uniform 0.01% off": the uniform loop with a few closed elements finished after it
(an embedding's padding row). Prints the median time of each and its ratio to torch.optim.Adam(fused=True).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from optim_plugins import _native
from optim_plugins.adashift import _bias_correction_table


def median_ms(function, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--numel", type=int, default=26_000_000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args(argv)
    kernels = _native.cpu_kernels()
    if kernels is None:
        raise SystemExit("the CPU kernels are unavailable here (see the log)")
    step, keep_num = 50, 10
    p, g, window_sum, v = (torch.rand(args.numel) for _ in range(4))
    window = torch.rand(keep_num, args.numel)
    since = torch.randint(1, 40, (args.numel,)).float()  # gates opened at different steps
    table = _bias_correction_table(0.999, torch.float32, step)
    param = torch.rand(args.numel, requires_grad=True)
    param.grad = g
    adam = torch.optim.Adam([param], fused=True)
    adam.step()
    baseline = median_ms(adam.step, args.rounds)
    print(f"{args.numel / 1e6:.1f}M float32 elements, torch {torch.__version__}")
    print(f"  torch.Adam fused          {baseline:8.2f} ms  1.00")
    none = torch.empty(0, dtype=torch.long)
    some_off = torch.arange(0, args.numel, 10_000)  # 0.01% of the elements listed as still off
    for name, mode, off in (("uniform", kernels.MODE_UNIFORM, none), ("active", kernels.MODE_ACTIVE, none),
                            ("activating", kernels.MODE_ACTIVATING, none),
                            ("uniform 0.01% off", kernels.MODE_UNIFORM, some_off)):
        def run():
            kernels.adashift_elementwise_group_step([p], [g], [window], step % keep_num, [window_sum], [v], [since],
                                                    table, step, 1e-3, 0.9, 0.9**keep_num, 0.999, 1e-10, 0.0, False,
                                                    0.1, [mode], [0.05], [off])
        run()
        elapsed = median_ms(run, args.rounds)
        print(f"  AdaShift {name:17} {elapsed:8.2f} ms  {elapsed / baseline:4.2f}")

if __name__ == "__main__":
    main()
