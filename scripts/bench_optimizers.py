"""Optimizer step time against torch, in one process, candidates interleaved.

    python scripts/bench_optimizers.py                  # 25M float32 parameters, CPU
    python scripts/bench_optimizers.py --params 2e6 25e6  # both sizes in one run (issue 16's targets)
    python scripts/bench_optimizers.py --quick          # a few seconds (CI smoke run)
    python scripts/bench_optimizers.py --device cuda

Parameters have transformer-like shapes (embeddings, square and 4x projections, biases, norms).
Each round times one step of every candidate in turn (so drift in machine load hits all of them);
the table reports the median over rounds, the ratio to torch's fused Adam (fused AMSGrad for
AMSGrad), effective GB/s from the minimum bytes each rule must move per step, and the
optimizer-state bytes per parameter, and whether the candidate meets its speed target (TARGETS).
Several ``--params`` sizes run one after the other in the same process. Results are also written
as JSON under benchmarks/results/ (one file per size).

The roofline: the machine's own streaming bandwidth, measured in the same rounds (interleaved with
the candidates, so the same load hits both) on float32 buffers of the benchmark's size, with
torch's own kernels at the benchmark's thread count: STREAM copy (``b = a``), triad
(``a = b + s * c``) and an in-place triad, "update" (``a += s * b``). Bytes are counted the STREAM
way: every array read or written once per element, no write-allocate traffic (copy 8 bytes per
element, triad 12, update 12). Copy and triad write an array they never read, so the cache fetches
each written line first (write-allocate: one more hidden read, 16 and 16 real bytes for 8 and 12
counted ones, as torch's kernels use no non-temporal stores); the update writes only what it read,
as every optimizer step does with its parameters and state. ``limit_gbs`` is the largest of the
three (on this machine the update's), the bandwidth a read-modify-write kernel can reach; each
candidate's ``fraction_of_limit`` is its effective GB/s over it. Target at 26M parameters (models
over 10M): every candidate at least 0.8 of the limit.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from optim_plugins import build_optimizer
from suite_results.provenance import OtherLoad

# bytes per parameter each rule must move per step in float32: read p, g and the state, write p
# and the state. AdaShift reduce "none": Adam's 28 (S in place of m) plus reading the slot leaving
# the window and writing g_t; "max"/"mean": 28, v being one scalar per tensor. O(1) paths such as
# our default; the reference path reads all n slots, 4n more. With beta1 = 0 ("none", lean) S is
# gone: read p, g, v, the slot; write p, v, the slot. With beta1 = 0 and max/mean (lean, reduced) the
# state is a few scalars per tensor: read p, g; write p.
TRAFFIC = {"adam": 28, "amsgrad": 36, "adamal": 28, "adamnc": 28, "adopt": 28, "adashift": 36,
           "adashift-reduced": 28, "adashift-lean-none": 28, "adashift-lean-reduced": 12}


# Speed targets: the most a candidate's ratio may be, from the issues that set them (issue 7, 15, 16,
# 34). A pair (label, limit) is a ratio to another candidate instead of to fused Adam. AdaShift n=10
# none: 1.35 at every size (its bandwidth floor is 36/28 = 1.29x).
TARGETS = {"Adam default (fused)": 1.1, "AMSGrad default (fused)": 1.1, "AdamAL default": 1.1,
           "AdamNC default (fused)": 1.1, "ADOPT default": 1.1, "AdaShift n=10 none": 1.35,
           "AdaShift n=10 max": 1.3, "AdaShift n=40 max": ("AdaShift n=1 max", 1.15)}
ROOFLINE_TARGET = 0.8  # fraction of the streaming limit every fast path must reach on models over 10M
# multi-pass by design (one pass over memory per elementary operation): the float64-checked reference
# formulas and torch's own foreach Adam, shown for comparison; the roofline target is not theirs
ROOFLINE_EXEMPT = ("torch.Adam foreach", "Adam reference foreach", "AdaShift n=40 max reference")
STREAM_BYTES = {"STREAM copy": 8, "STREAM triad": 12, "STREAM update": 12}  # per element, float32, the STREAM way


def stream_kernels(numel: int, device) -> dict:
    """The STREAM copy, triad and in-place triad as callables on float32 buffers of ``numel`` elements."""
    a, b, c = (torch.rand(numel, device=device) for _ in range(3))
    return {"STREAM copy": lambda: b.copy_(a), "STREAM triad": lambda: torch.add(b, c, alpha=3.0, out=a),
            "STREAM update": lambda: c.add_(b, alpha=1e-30)}  # tiny s: c stays finite over any number of rounds


def target_check(rows: list[dict], numel: int) -> None:
    """Adds ``target`` (the limit, as text) and ``target_met`` to the rows that have a target."""
    by_label = {r["candidate"]: r for r in rows}
    for label, target in TARGETS.items():
        if label not in by_label:
            continue
        row = by_label[label]
        if isinstance(target, tuple):
            other, limit = target
            if other not in by_label:
                continue
            ratio, row["target"] = row["median_ms"] / by_label[other]["median_ms"], f"<= {limit} x {other}"
        else:
            ratio, limit, row["target"] = row["ratio"], target, f"<= {target}"
        row["target_ratio"], row["target_met"] = ratio, ratio <= limit
    if numel >= 10_000_000:
        for row in rows:
            if row["candidate"] not in ROOFLINE_EXEMPT:
                row["roofline_met"] = row["fraction_of_limit"] >= ROOFLINE_TARGET


def transformer_like_shapes(total: int) -> list[tuple[int, ...]]:
    d = 512 if total >= 10_000_000 else 128
    shapes = [(8000, d)]  # embeddings
    layer = [(d, d)] * 4 + [(d,)] * 4 + [(4 * d, d), (4 * d,), (d, 4 * d), (d,), (d,), (d,)]
    while sum(torch.Size(s).numel() for s in shapes) < total:
        shapes.extend(layer)
    return shapes


def candidates(quick: bool) -> list[tuple[str, str, dict]]:
    rows = [("torch.Adam fused", "torch-adam", {"fused": True}),
            ("Adam default (fused)", "adam", {}),
            ("AdaShift n=10 none", "adashift", {"keep_num": 10, "reduce": "none"}),
            ("AdaShift n=10 max", "adashift", {"keep_num": 10, "reduce": "max"}),
            ("torch.Adam foreach", "torch-adam", {"foreach": True}),
            ("torch.Adam amsgrad fused", "torch-adam", {"fused": True, "amsgrad": True}),
            ("Adam reference foreach", "adam", {"fused": False}),
            ("AMSGrad default (fused)", "amsgrad", {}),
            ("AdamAL default", "adamal", {}), ("AdamNC default (fused)", "adamnc", {}),
            ("ADOPT default", "adopt", {}),
            ("AdaShift n=1 max", "adashift", {"keep_num": 1, "reduce": "max"}),
            ("AdaShift n=40 max", "adashift", {"keep_num": 40, "reduce": "max"}),
            ("AdaShift n=40 max beta1=0 (lean)", "adashift", {"keep_num": 40, "reduce": "max", "betas": (0.0, 0.9)}),
            ("AdaShift n=10 none beta1=0 (lean)", "adashift", {"keep_num": 10, "reduce": "none", "betas": (0.0, 0.9)}),
            ("AdaShift n=40 max reference", "adashift", {"keep_num": 40, "reduce": "max", "fused": False}),
            ("AdaShift n=10 max bf16 window", "adashift", {"keep_num": 10, "reduce": "max",
                                                           "window_dtype": torch.bfloat16})]
    return rows[:4] if quick else rows


def make(kind: str, params, kwargs):
    if kind == "torch-adam":
        return torch.optim.Adam(params, lr=1e-3, **kwargs)
    return build_optimizer(kind, params, lr=1e-3, **kwargs)


def state_bytes(optimizer) -> int:
    return sum(v.numel() * v.element_size() for s in optimizer.state.values() for v in s.values()
               if torch.is_tensor(v) and v.dim() > 0)


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", type=float, nargs="+", default=[25e6],
                        help="number of parameters (default 25M); several sizes run one after the other")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quick", action="store_true", help="1M parameters, 3 rounds, 4 candidates")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)
    if args.quick:
        args.params, args.rounds, args.warmup = [1e6], 3, 1
    return [run_size(int(size), args) for size in args.params]


def run_size(size: int, args) -> dict:
    """The whole table at one model size."""
    device = torch.device(args.device)
    shapes = transformer_like_shapes(size)
    numel = sum(torch.Size(s).numel() for s in shapes)
    setups, rows_to_run = [], candidates(args.quick)
    torch.manual_seed(1)
    grads = [torch.randn(s, device=device) * 1e-2 for s in shapes]
    # AdaShift's first keep_num steps only fill its window: time the steady state after them
    warmup = max([args.warmup] + [kw.get("keep_num", 0) + 2 for _, _, kw in rows_to_run])
    for label, kind, kwargs in rows_to_run:
        torch.manual_seed(0)
        params = [torch.randn(s, device=device, requires_grad=True) for s in shapes]
        for p, g in zip(params, grads):  # one set of gradients for all (no candidate writes them): less memory
            p.grad = g
        setups.append((label, kind, make(kind, params, kwargs), params))
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    steps = [(label, optimizer.step) for label, _, optimizer, _ in setups]
    steps += list(stream_kernels(numel, device).items())
    times = {label: [] for label, _ in steps}
    with OtherLoad() as load:
        for round_number in range(warmup + args.rounds):
            for label, step in steps:
                sync()
                start = time.perf_counter()
                step()
                sync()
                if round_number >= warmup:
                    times[label].append(time.perf_counter() - start)
    median = {label: statistics.median(t) for label, t in times.items()}
    stream = {label: STREAM_BYTES[label] * numel / median[label] / 1e9 for label in STREAM_BYTES}
    limit = max(stream.values())
    baseline = median["torch.Adam fused"]
    amsgrad_base = median.get("torch.Adam amsgrad fused", baseline)
    rows = []
    for label, kind, optimizer, _ in setups:
        is_amsgrad = "AMSGrad" in label or "amsgrad" in label
        reference = amsgrad_base if is_amsgrad else baseline
        rule = "adam" if kind == "torch-adam" and "amsgrad" not in label else \
            "amsgrad" if kind == "torch-adam" else kind
        if rule == "adashift" and optimizer.param_groups[0]["reduce"] != "none":
            rule = "adashift-lean-reduced" if optimizer.param_groups[0]["betas"][0] == 0 else "adashift-reduced"
        elif rule == "adashift" and optimizer.param_groups[0]["betas"][0] == 0:
            rule = "adashift-lean-none"
        traffic = TRAFFIC[rule] * numel
        rows.append({"candidate": label, "median_ms": median[label] * 1e3, "ratio": median[label] / reference,
                     "ratio_to": "fused AMSGrad" if is_amsgrad else "fused Adam",
                     "GB_per_s": traffic / median[label] / 1e9, "fraction_of_limit": traffic / median[label] / 1e9 / limit,
                     "state_bytes_per_param": state_bytes(optimizer) / numel})
    target_check(rows, numel)
    print(f"{numel / 1e6:.1f}M float32 parameters in {len(shapes)} tensors on {device}, "
          f"{args.rounds} rounds (median), torch {torch.__version__}, {torch.get_num_threads()} threads; {load.note()}")
    print(f"machine limit (same rounds, {numel / 1e6:.1f}M-element float32 buffers, STREAM byte counts): "
          + ", ".join(f"{label} {gbs:.1f} GB/s" for label, gbs in stream.items())
          + f"; the limit: {limit:.1f} GB/s")
    print(f"{'candidate':34} {'ms/step':>9} {'ratio':>7} {'vs':>14} {'GB/s':>7} {'of limit':>9} "
          f"{'state B/param':>14}  target")
    for r in rows:
        target = "" if "target" not in r else \
            f"{r['target']}: {r['target_ratio']:.2f} {'met' if r['target_met'] else 'MISSED'}"
        if "roofline_met" in r:
            target += f"{'; ' if target else ''}>= {ROOFLINE_TARGET} of limit: " \
                      f"{'met' if r['roofline_met'] else 'MISSED'}"
        print(f"{r['candidate']:34} {r['median_ms']:9.2f} {r['ratio']:7.2f} {r['ratio_to']:>14} "
              f"{r['GB_per_s']:7.1f} {r['fraction_of_limit']:9.2f} {r['state_bytes_per_param']:14.1f}  {target}")
    result = {"device": str(device), "cpu": platform.processor() or platform.machine(),
              "torch": torch.__version__, "threads": torch.get_num_threads(), "params": numel,
              "rounds": args.rounds, "others_busy_cores": load.cores, "limit_gbs": limit, "stream_gbs": stream, "rows": rows}
    return save_result(result, args.out, f"bench_{device.type}")


def save_result(result: dict, out: Path, prefix: str) -> dict:
    """Stamp ``result`` with the date and write it as JSON under ``out``."""
    now = datetime.datetime.now()
    result = {"date": now.isoformat(timespec="seconds"), **result}
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{prefix}_{now:%Y%m%d_%H%M%S}.json"
    path.write_text(json.dumps(result, indent=1))
    print(f"written: {path}")
    return result


if __name__ == "__main__":
    main()
