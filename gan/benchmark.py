"""The AdaShift paper's critic experiment as a named benchmark: ``python -m gan.benchmark``.

    python -m gan.benchmark --benchmark fmnist-critic

The authors' protocol (their release: WGAN/README.md, gan_realdata4.py): the generator is never
trained, the critic minimises their WGAN loss (``--loss adashift-maxgp``: sigmoid-cross-entropy
WGAN terms plus MaxGP 0.1) with beta1 0, beta2 0.999, AdaShift keep_num 1 with phi = max; lr 2e-4
for AdaShift and 1e-5 for the others (their best each); the plotted quantity is the critic's
training loss smoothed with a box filter. Here on Fashion-MNIST (CIFAR-10 is not available
offline), batch 64, with the budget sized for this CPU (``fmnist-critic``: 5,000 critic steps, about
10 minutes a run on 2 cores; the authors ran 150,000 on a GPU).

Same tuning budget for every optimizer: the authors' lr on every seed, a 3-value lr grid (the
authors' lr x 1/3, 1, 3) on seed 0 and, where the grid's best lr differs from the authors', that lr
on every seed too. Each run is a ``gan.train`` run in a directory keyed on its configuration; every finished run
lands as a JSON row (the smoothed curve and the final smoothed loss) in
``results/gan/<benchmark>/runs/``, reused by later invocations on any machine, so the sweep carries
across sessions. ``summary.json``, ``results.md`` and ``critic_loss.png`` are rewritten after every run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from suite_results import rundir
from suite_results.cli import command_line, run_cli
from suite_results.files import atomic_write_text
from suite_results.scalars import read_scalar
from suite_results.stats import edge_note, format_spread, grid_edge, spread
from suite_results.tables import Document

from .train import GANConfig, Trainer


@dataclass(frozen=True)
class Benchmark:
    dataset: str
    iterations: int
    smoothing: int  # box filter width (iterations) for the curves and the final loss
    batch_size: int = 64
    loss: str = "adashift-maxgp"
    betas: tuple = (0.0, 0.999)
    keep_num: int = 1
    reduce: str = "max"
    authors_lr: tuple = (("adashift", 2e-4), ("default", 1e-5))
    grid_factors: tuple = (1 / 3, 1.0, 3.0)
    seeds: tuple = (0, 1, 2)
    width: int | None = None
    z_dim: int | None = None
    image_limit: int | None = None
    log_every: int = 10
    eval_samples: int = 1000
    optimizers: tuple = ("adam", "amsgrad", "adashift", "adamal", "adopt")

    def lr_for(self, optimizer: str) -> float:
        table = dict(self.authors_lr)
        return table.get(optimizer, table["default"])


BENCHMARKS = {
    "fmnist-critic": Benchmark(dataset="fashion-mnist", iterations=5000, smoothing=250),
    # seconds, for the tests
    "toy-critic": Benchmark(dataset="8gaussians", iterations=30, smoothing=10, batch_size=32, width=16,
                            log_every=1, eval_samples=200, seeds=(0, 1), optimizers=("adam", "adashift")),
}


def smooth(values: np.ndarray, width: int) -> np.ndarray:
    """Box filter over the last ``width`` values (shorter at the start), as the authors' plot."""
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    index = np.arange(1, len(values) + 1)
    start = np.maximum(0, index - width)
    return (cumulative[index] - cumulative[start]) / (index - start)


def run_row(bench: Benchmark, name: str, optimizer: str, lr: float, seed: int, root: Path,
            train: bool = True) -> dict | None:
    """One run's row: the committed one for exactly this configuration, else a new run (None when
    ``train`` is False)."""
    config = GANConfig(dataset=bench.dataset, iterations=bench.iterations, batch_size=bench.batch_size,
                       fixed_generator=True, loss=bench.loss, critic_optimizer=optimizer, preset="adashift-paper",
                       critic_lr=lr, keep_num=bench.keep_num, reduce=bench.reduce, width=bench.width,
                       z_dim=bench.z_dim, image_limit=bench.image_limit, seed=seed, log_every=bench.log_every,
                       eval_every=bench.iterations, checkpoint_every=max(bench.iterations // 10, 1),
                       eval_samples=bench.eval_samples, out="")
    key_config = {"benchmark": name, "definition": asdict(bench),
                  **{k: v for k, v in dataclasses.asdict(config).items() if k not in ("out", "device")}}
    results = root / "results" / "gan" / name / "runs"
    path = results / f"{optimizer}-lr{lr:.3g}-s{seed}-{rundir.config_key(key_config)}.json"
    if path.exists():
        return json.loads(path.read_text())
    if not train:
        return None
    config.out = str(root / "runs" / "gan" / "bench" / name / path.stem)
    trainer = Trainer(config)
    fitted = trainer.fit()
    events = read_scalar(config.out, "train/critic_loss")
    steps, losses = np.array([e.step for e in events]), np.array([e.value for e in events])
    smoothed = smooth(losses, max(1, bench.smoothing // bench.log_every))
    row = {"optimizer": optimizer, "lr": lr, "seed": seed, "iterations": bench.iterations,
           "final_smoothed_loss": float(smoothed[-1]), "steps": steps.tolist(), "smoothed_loss": smoothed.tolist(),
           # the seconds between the first and the last logged step, so a resumed run counts its whole time
           "train_seconds": events[-1].wall_time - events[0].wall_time,
           "iterations_per_second": fitted["iterations_per_second"], "run_dir": config.out,
           "command": command_line("python -m gan.train", config, skip=("device",))}
    results.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(row))
    return row


def run_benchmark(name: str, root: Path = Path("."), optimizers: list[str] | None = None,
                  train: bool = True) -> dict:
    """The protocol (module docstring); ``train=False`` only rewrites the results from the rows there are."""
    from tqdm import tqdm

    bench = BENCHMARKS[name]
    optimizers = list(optimizers or bench.optimizers)
    grid, authors, best = {}, {}, {}
    runs_total = len(optimizers) * (len(bench.seeds) + len(bench.grid_factors) - 1 + len(bench.seeds) - 1)

    def rows(optimizer, lr, seeds, bar):
        found = []
        for seed in seeds:
            row = run_row(bench, name, optimizer, lr, seed, root, train)
            found += [row] if row else []
            bar.update(1)
        return found

    with tqdm(total=runs_total, desc=f"gan benchmark {name}", unit="run", disable=not train) as bar:
        # in the order that makes an interrupted sweep most useful: 1. every optimizer at the authors' lr
        # on every seed (the paper's comparison); 2. the rest of the lr grid on the first seed; 3. the
        # grid's best lr on the other seeds.
        for optimizer in optimizers:
            authors[optimizer] = rows(optimizer, bench.lr_for(optimizer), bench.seeds, bar)
            write_results(name, bench, grid, authors, best, root)
        for optimizer in optimizers:
            base = bench.lr_for(optimizer)
            grid[optimizer] = [r for factor in bench.grid_factors for r in (
                [a for a in authors[optimizer] if a["seed"] == bench.seeds[0]] if factor == 1.0
                else rows(optimizer, base * factor, bench.seeds[:1], bar))]
            write_results(name, bench, grid, authors, best, root)
        for optimizer in optimizers:
            if len(grid[optimizer]) < len(bench.grid_factors):
                continue  # the grid is not complete: no best lr yet
            chosen = best_lr(grid[optimizer])
            best[optimizer] = [r for r in grid[optimizer] if r["lr"] == chosen] + rows(
                optimizer, chosen, bench.seeds[1:], bar)
            write_results(name, bench, grid, authors, best, root)
    return write_results(name, bench, grid, authors, best, root)


def best_lr(grid_rows: list[dict]) -> float:
    """The lr of the grid run with the lowest final smoothed critic loss."""
    return min(grid_rows, key=lambda r: r["final_smoothed_loss"])["lr"]


def _distinct_runs(*tables: dict) -> list[dict]:
    """Every run once (the grid's rows reappear at the authors' and the best lr)."""
    runs = {(r["optimizer"], r["lr"], r["seed"]): r for table in tables for rows in table.values() for r in rows}
    return list(runs.values())


def _entry(rows: list[dict]) -> dict:
    return {"lr": rows[0]["lr"], "seeds": [r["seed"] for r in rows],
            "final_smoothed_loss": spread([r["final_smoothed_loss"] for r in rows]), "runs": rows}


def paired(table: dict, a: str, b: str) -> dict | None:
    """spread() of a's final loss minus b's, seed by seed (the same seed: the same fixed generator
    and data order, so the difference is far less noisy than the two means); None without a
    common seed."""
    by_seed = {r["seed"]: r["final_smoothed_loss"] for r in table.get(b, [])}
    diffs = [r["final_smoothed_loss"] - by_seed[r["seed"]] for r in table.get(a, []) if r["seed"] in by_seed]
    return spread(diffs) if diffs else None


def verdicts(table: dict, seeds: int, where: str) -> list[dict]:
    """The paper's claims on one table (optimizer -> rows), each "A below B" judged on the paired
    per-seed differences A - B: "reproduced" when their 95% bootstrap interval lies below 0, "not
    reproduced (B below A)" when above, "not reproduced (no clear difference)" otherwise; "pending"
    until every optimizer compared has all ``seeds`` runs."""
    complete = {o for o, rows in table.items() if len(rows) >= seeds}

    def judge(a, b):
        d = paired(table, a, b)
        if not {a, b} <= complete or d is None:
            return "pending", f"{a} - {b}: {len(table.get(a, []))} and {len(table.get(b, []))} of {seeds} seeds"
        measured = f"{a} - {b} per seed: {d['mean']:+.4g} [{d['ci_low']:+.4g}, {d['ci_high']:+.4g}] ({d['n']} seeds)"
        if d["ci_high"] < 0:
            return "reproduced", measured
        if d["ci_low"] > 0:
            return f"not reproduced ({b} below {a})", measured
        return "not reproduced (no clear difference)", measured

    def claim(text, pairs):
        results = [judge(a, b) for a, b in pairs]
        order = ("pending", "not reproduced", "reproduced")
        worst = min((v for v, _ in results), key=lambda v: next(i for i, o in enumerate(order) if v.startswith(o)))
        return {"claim": text, "measured": "; ".join(m for _, m in results), "verdict": worst}

    out = []
    if "adashift" in table and len(table) > 1:
        out.append(claim(f"AdaShift reaches the lowest critic loss ({where})",
                         [("adashift", o) for o in table if o != "adashift"]))
    if {"adam", "amsgrad"} <= set(table):
        out.append(claim(f"AMSGrad below Adam ({where}; the mknbv reproduction; the paper had Adam below AMSGrad)",
                         [("amsgrad", "adam")]))
    return out


def write_results(name, bench, grid, authors, best, root: Path) -> dict:
    grid, authors, best = ({o: rows for o, rows in table.items() if rows} for table in (grid, authors, best))
    out = root / "results" / "gan" / name
    summary = {"benchmark": name, "definition": asdict(bench), "protocol": __doc__.split("\n\n")[2],
               "command": f"python -m gan.benchmark --benchmark {name}",
               "lr_grid": {o: [{"lr": r["lr"], "final_smoothed_loss": r["final_smoothed_loss"]} for r in rows]
                           for o, rows in grid.items()},
               # per optimizer with a complete grid: its best lr and whether that lies at the grid's edge
               "grid_choice": {o: {"lr": lr, "at_grid_edge": grid_edge(lr, [r["lr"] for r in rows])}
                               for o, rows in grid.items() if len(rows) == len(bench.grid_factors)
                               for lr in [best_lr(rows)]},
               "at_authors_lr": {o: _entry(rows) for o, rows in authors.items()},
               "at_best_grid_lr": {o: _entry(rows) for o, rows in best.items()},
               "verdicts": verdicts(authors, len(bench.seeds), "authors' lrs") + verdicts(
                   best, len(bench.seeds), "each optimizer at its grid's best lr"),
               "wall_hours": sum(r["train_seconds"] for r in _distinct_runs(grid, authors, best)) / 3600,
               "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}"}
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1))
    doc = Document().heading(f"WGAN critic benchmark `{name}`").text(
        f"{bench.dataset}, fixed generator, loss {bench.loss}, batch {bench.batch_size}, {bench.iterations} "
        f"critic steps, betas {bench.betas}, AdaShift keep_num {bench.keep_num} reduce {bench.reduce}. Final "
        f"loss: the last value of the {bench.smoothing}-step box-smoothed critic loss (lower: the critic separates "
        f"real from generated images further; the loss is unbounded below); mean ± std [95% bootstrap interval] "
        f"over seeds. Command: `{summary['command']}`. Training time of the "
        f"{len(_distinct_runs(grid, authors, best))} distinct runs: {summary['wall_hours']:.2f} wall hours "
        f"({summary['machine']}).")
    for title, table in (("At the authors' lr", summary["at_authors_lr"]), ("At the grid's best lr",
                                                                            summary["at_best_grid_lr"])):
        doc.heading(title, 2).table(
            ["optimizer", "lr", "seeds", "final smoothed critic loss"],
            [[o, f"{e['lr']:.3g}", len(e["runs"]), format_spread(e["final_smoothed_loss"], significant=4)]
             for o, e in table.items()])
    for where, table in (("authors' lrs", authors), ("each at its grid's best lr", best)):
        differences = {o: paired(table, o, "adam") for o in table if o != "adam"} if "adam" in table else {}
        if not any(differences.values()):
            continue
        doc.heading(f"Seed by seed against Adam ({where})", 2).text(
            "The same seed means the same fixed generator and data order, so the per-seed difference is far "
            "less noisy than the spread of either optimizer over seeds.").table(
            ["optimizer", "seeds", "final loss minus Adam's, mean [95% interval]"],
            [[o, d["n"], f"{d['mean']:+.4g} [{d['ci_low']:+.4g}, {d['ci_high']:+.4g}]"]
             for o, d in differences.items() if d])
    doc.heading("lr grid (seed {})".format(bench.seeds[0]), 2).text(
        "A best lr at the grid's edge means the best setting may lie beyond the grid: the critic loss is "
        "unbounded below, and a larger step size can lower it further.").table(
        ["optimizer", "lr: final smoothed critic loss", "best lr"],
        [[o, ", ".join(f"{r['lr']:.3g}: {r['final_smoothed_loss']:.4g}" for r in rows),
          f"{summary['grid_choice'][o]['lr']:.3g}" + edge_note(summary["grid_choice"][o]["lr"], [r["lr"] for r in rows])
          if o in summary["grid_choice"] else "(grid incomplete)"]
         for o, rows in summary["lr_grid"].items()])
    doc.heading("Verdicts", 2).table(["claim", "measured", "verdict"],
                                     [[v["claim"], v["measured"], v["verdict"]] for v in summary["verdicts"]])
    doc.write(out / "results.md")
    plot(summary, out / "critic_loss.png")
    return summary


def plot(summary: dict, path: Path) -> None:
    """The smoothed critic loss per optimizer (mean over seeds, band min..max): at the authors' lrs and,
    once there are rows, at each optimizer's best grid lr beside it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("authors' lr", summary["at_authors_lr"])] + (
        [("grid's best lr", summary["at_best_grid_lr"])] if summary["at_best_grid_lr"] else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), 4.2), squeeze=False, sharey=True)
    for ax, (where, table) in zip(axes[0], panels):
        for index, (optimizer, entry) in enumerate(table.items()):
            length = min(len(r["smoothed_loss"]) for r in entry["runs"])
            curves = np.array([r["smoothed_loss"][:length] for r in entry["runs"]])
            steps = entry["runs"][0]["steps"][:length]
            ax.plot(steps, curves.mean(0), color=f"C{index}",
                    label=f"{optimizer} (lr {entry['lr']:.3g}, {len(entry['runs'])} seeds)")
            ax.fill_between(steps, curves.min(0), curves.max(0), color=f"C{index}", alpha=0.2)
        ax.set(xlabel="critic step", ylabel="critic loss (box-smoothed)",
               title=f"{summary['benchmark']} at the {where} (mean over seeds, band min..max)")
        if table:
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gan.benchmark", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmark", choices=list(BENCHMARKS), default="fmnist-critic")
    parser.add_argument("--optimizers", nargs="+", default=None)
    parser.add_argument("--root", type=Path, default=Path("."))
    parser.add_argument("--no-train", dest="train", action="store_false",
                        help="only rewrite summary.json, results.md and the plot from the rows there are")
    args = parser.parse_args(argv)
    run_benchmark(args.benchmark, args.root, args.optimizers, args.train)
    print((args.root / "results" / "gan" / args.benchmark / "results.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli("python -m gan.benchmark", main))
