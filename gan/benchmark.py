"""The AdaShift paper's critic experiment as a named benchmark: ``python -m gan.benchmark``.

    python -m gan.benchmark --benchmark fmnist-critic

The authors' protocol (their release: WGAN/README.md, gan_realdata4.py): the generator is never
trained, the critic minimises their WGAN loss (``--loss adashift-maxgp``: sigmoid-cross-entropy
WGAN terms plus MaxGP 0.1) with beta1 0, beta2 0.999, AdaShift keep_num 1 with phi = max; lr 2e-4
for AdaShift and 1e-5 for the others (their best each); the plotted quantity is the critic's
training loss smoothed with a box filter. Here on Fashion-MNIST (CIFAR-10 is not available
offline), batch 64, with the budget sized for this CPU (``fmnist-critic``: 5,000 critic steps, about
10 minutes a run on 2 cores; the authors ran 150,000 on a GPU).

Same tuning budget for every optimizer, through the suite's one tuning protocol
(``suite_results.tuning``, one rung: every grid run has the full budget): the authors' lr on every
seed (the paper's comparison); a log-spaced grid on seed 0 starting from the authors' lr x 1/3, 1, 3
and extended past its edge until its best value is interior. The critic loss is unbounded below, so
"interior" means: a larger lr no longer lowers the final smoothed loss, or diverges (a non-finite
loss; recorded as diverged with its last finite smoothed loss); the grid's best lr then runs on every
seed too. Each run is a ``gan.train`` run in a directory keyed on its configuration (one writer at
a time: two sweeps on one root share the rows); every finished run lands as a JSON row (the
smoothed curve and the final smoothed loss) in ``results/gan/<benchmark>/runs/``, reused by later
invocations on any machine, so the sweep carries across sessions. ``summary.json``, ``results.md``
and ``critic_loss.png`` are rewritten after every run.
"""

from __future__ import annotations

import argparse
import functools
from dataclasses import asdict, dataclass
from types import SimpleNamespace
from pathlib import Path

import numpy as np

from suite_results import claims, provenance, resultsdir, rundir, slurm, sweeps
from suite_results import tensorboard as tb
from suite_results.cli import command_line, portable_path, run_cli
from suite_results.files import atomic_savefig
from suite_results.rows import read_row, write_row
from suite_results.scalars import read_scalar, worked_seconds
from suite_results.stats import INTERVAL, edge_note, format_spread, spread
from suite_results.tables import Document
from suite_results.tuning import Outcome, Protocol, tune

from .train import GANConfig, Trainer, TrainingDiverged

PROTOCOL = Protocol(promote=0, max_values=9)  # one rung; at most 6 values past the 3 (AdamAL needed more than 4)
LOCKED = sweeps.LOCKED  # run_row's answer for a row another process is training
ROW_KEYS = ("optimizer", "lr", "seed", "final_smoothed_loss", "steps", "smoothed_loss", "train_seconds")


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


USER: dict = {}  # candidates added at run time (optim-suite settle): name -> Candidate; rows under candidates/<name>/


def add_candidate(candidate) -> None:
    """A user's candidate (``optim-suite settle``): tuned from its own lr grid on the benchmark's seeds,
    with the betas every optimizer gets here where its class takes betas; no authors' lr."""
    if candidate.name in Benchmark.__dataclass_fields__["optimizers"].default or candidate.name in ("sgd",):
        raise ValueError(f"candidate name {candidate.name!r} is a built-in optimizer's; choose another with --name")
    if not candidate.tuned:
        raise ValueError(f"candidate {candidate.name!r}: the critic benchmark tunes a new candidate (give an lr grid)")
    USER[candidate.name] = candidate


def run_row(bench: Benchmark, name: str, optimizer: str, lr: float, seed: int, root: Path,
            train: bool = True):
    """One run's row: the committed one for exactly this configuration, else a new run (None when
    ``train`` is False; LOCKED while another process trains it)."""
    user = USER.get(optimizer)
    config = GANConfig(dataset=bench.dataset, iterations=bench.iterations, batch_size=bench.batch_size,
                       fixed_generator=True, loss=bench.loss, critic_optimizer=user.optimizer if user else optimizer,
                       preset="adashift-paper", critic_lr=lr, keep_num=bench.keep_num, reduce=bench.reduce,
                       width=bench.width, z_dim=bench.z_dim, image_limit=bench.image_limit, seed=seed,
                       log_every=bench.log_every, eval_every=bench.iterations,
                       checkpoint_every=max(bench.iterations // 10, 1), eval_samples=bench.eval_samples, out="",
                       critic_optimizer_options=(user.settings() or None) if user else None)
    key_config = {"benchmark": name, "definition": asdict(bench),
                  **{k: v for k, v in config.record().items() if k not in ("out", "device")}}
    results = root / "results" / "gan" / name / ("candidates/" + optimizer if user else "runs")
    path = results / f"{optimizer}-lr{lr:.3g}-s{seed}-{rundir.config_key(key_config)}.json"
    run_dir = root / "runs" / "gan" / "bench" / name / path.stem
    config.out = str(run_dir)
    return sweeps.committed_or_trained(path, run_dir, lambda p: read_row(p, ROW_KEYS),
                                       lambda: _train_row(bench, optimizer, lr, seed, config, path, root), train)


def _train_row(bench, optimizer, lr, seed, config, path, root) -> dict:
    diverged = None
    try:
        fitted = Trainer(config).fit()
    except TrainingDiverged as error:
        diverged, fitted = str(error), {}
    events = read_scalar(config.out, "train/critic_loss")
    steps, losses = np.array([e.step for e in events]), np.array([e.value for e in events])
    smoothed = smooth(losses, max(1, bench.smoothing // bench.log_every)) if len(losses) else np.array([])
    row = {"optimizer": optimizer, "lr": lr, "seed": seed, "iterations": bench.iterations,
           "final_smoothed_loss": None if diverged else float(smoothed[-1]), "steps": steps.tolist(),
           "smoothed_loss": smoothed.tolist(),
           # each invocation's seconds from its first to its last logged step (one event file each), so a
           # resumed run counts every part but not the time between them, nor a stop inside one
           "train_seconds": worked_seconds(config.out, "train/critic_loss"),
           "iterations_per_second": fitted.get("iterations_per_second"), "run_dir": portable_path(config.out, root),
           "command": command_line("python -m gan.train", config, skip=("device",), root=root)}
    if diverged:
        row.update({"diverged": diverged, "last_finite_smoothed_loss": float(smoothed[-1]) if len(smoothed) else None})
    return write_row(path, row)  # with the machine its train_seconds were spent on


def _outcome(row) -> Outcome | None:
    if row is None:
        return None
    if row.get("diverged"):
        return Outcome(None, row.get("last_finite_smoothed_loss"))
    return Outcome.of(row["final_smoothed_loss"])


def walk(bench: Benchmark, optimizers: list[str], lookup) -> dict:
    """The protocol over ``optimizers`` as far as the rows ``lookup(optimizer, lr, seed)`` allow:
    {'authors', 'grid', 'best', 'tunings', 'needed'}; needed most useful first (1. every optimizer at
    the authors' lr on every seed, the paper's comparison; 2. the grids on the first seed; 3. the
    grid's best lr on the other seeds)."""
    authors, grid, best, tunings, needed = {}, {}, {}, {}, []

    def rows(optimizer, lr, seeds, priority):
        found = []
        for seed in seeds:
            row = lookup(optimizer, lr, seed)
            if row is None:
                needed.append((priority, optimizer, lr, seed))
            else:
                found.append(row)
        return found

    def extra(optimizer, lr):  # seeds only Stein's design asks for (suite_results.claims): shown when they exist
        return [r for r in (lookup(optimizer, lr, s) for s in claims.Design().seed_order(bench.seeds)[len(bench.seeds):])
                if r is not None]

    first = bench.seeds[0]
    for optimizer in optimizers:
        user = USER.get(optimizer)
        base = None if user else bench.lr_for(optimizer)
        if not user:  # a user's candidate has no authors' lr
            authors[optimizer] = rows(optimizer, base, bench.seeds, 1) + extra(optimizer, base)
        seen = {}

        def score(lr, optimizer=optimizer, seen=seen):
            row = lookup(optimizer, lr, first)
            if row is not None:
                seen[lr] = row
            return _outcome(row)
        t = tune(list(user.lr_grid) if user else [base * f for f in bench.grid_factors], score, protocol=PROTOCOL)
        tunings[optimizer] = t
        grid[optimizer] = [seen[lr] for lr in sorted(seen)]
        needed += [(2, optimizer, lr, first) for _, lr in t.needed if lr != base]
        if t.chosen is not None:
            best[optimizer] = [seen[t.chosen]] + rows(optimizer, t.chosen, bench.seeds[1:], 3) + extra(optimizer, t.chosen)
        elif t.grid_best is not None:  # the grid is still growing: its best so far, marked provisional
            best[optimizer] = [seen[t.grid_best]] + [r for r in (lookup(optimizer, t.grid_best, s)
                                                                 for s in bench.seeds[1:]) if r is not None]
    needed.sort(key=lambda n: n[0])
    return {"authors": authors, "grid": grid, "best": best, "tunings": tunings, "needed": needed}


def slurm_job(name: str, root: str, item: tuple):
    """One run of the sweep inside a SLURM job (suite_results.slurm): it writes the row, nothing else."""
    sweeps.job_threads()
    bench = BENCHMARKS[name]
    return run_row(bench, name, item[1], item[2], item[3], Path(root), train=True)


def run_benchmark(name: str, root: Path = Path("."), optimizers: list[str] | None = None,
                  train: bool = True, poll_s: float = 60.0, slurm_config=None, pages: bool = True,
                  train_only: set | None = None, plan: bool = False) -> dict:
    """The protocol (module docstring); ``train=False`` only rewrites the results from the rows there
    are; ``plan`` prints the runs the sweep would make and their CPU hours, and trains and writes
    nothing. One line per run on stderr; another process's rows are left to it (this one waits only
    when nothing else is left: ``suite_results.sweeps``)."""
    bench = BENCHMARKS[name]
    train, pages = train and not plan, pages and not plan
    optimizers = list(optimizers or bench.optimizers)

    def known(optimizer, lr, seed):
        return run_row(bench, name, optimizer, lr, seed, root, train=False)

    def read():
        return walk(bench, optimizers, known)

    def page(state):
        return write_results(name, bench, state, root, pages)

    lock = root / "runs" / "gan" / "bench" / name / "pages" if pages else None  # sweeps.refresh
    state, summary = sweeps.refresh(lock, read, page)

    def result(row):
        final = "diverged" if row.get("diverged") else f"final smoothed loss {row['final_smoothed_loss']:.4g}"
        return f"{final} ({row['train_seconds']:.0f} s)"

    def after(trained_one):
        nonlocal state, summary
        state, summary = sweeps.refresh(lock, read, page) if trained_one else (read(), summary)

    trained = set(train_only or optimizers)  # the optimizers whose runs this process makes

    def protocol():
        return [n for n in state["needed"] if n[1] in trained]

    def design():  # the seeds Stein's design asks for (suite_results.claims)
        return [(9, o, lr, seed) for o, lr, seed in claims.to_run(summary["verdicts"]) if o in trained]

    def label(n):
        return f"{n[1]} lr {n[2]:.3g} seed {n[3]}"

    if plan:
        summary["plan"] = sweeps.plan(f"gan benchmark {name}", protocol(), design(), label,
                                      root / "results" / "gan" / name / "runs", lambda n: (n[1], None))
    if train:
        sweeps.drive(f"gan benchmark {name}", lambda: protocol() or design(),
                     lambda n: run_row(bench, name, n[1], n[2], n[3], root, train=True),
                     label, result, after, poll_s, slurm_config,
                     functools.partial(slurm_job, name, str(root)), root / "runs" / "gan" / "bench" / name / "slurm")
    return summary


def _entry(rows: list[dict]) -> dict:
    return {"lr": rows[0]["lr"], "seeds": [r["seed"] for r in rows],
            "final_smoothed_loss": spread([r["final_smoothed_loss"] for r in rows]), "runs": rows}


def paired(table: dict, a: str, b: str) -> dict | None:
    """spread() of a's final loss minus b's, seed by seed (the same seed: the same fixed generator
    and data order, so the difference is far less noisy than the two means); None without a
    common seed."""
    return claims.paired(table.get(a, []), table.get(b, []), "final_smoothed_loss")


MARGIN = claims.Margin(10.0, "", "about 1% of the final losses (about -900 at the authors' lrs, -1,250 tuned); the "
                       "paper's own gaps are hundreds")


def verdicts(table: dict, seeds: tuple, where: str) -> list[dict]:
    """The paper's claims on one table (optimizer -> rows), each "A below B" judged on the paired
    per-seed differences A - B with the suite's three outcomes (suite_results.claims, margin
    :data:`MARGIN`); "pending" until every optimizer compared has its seeds."""
    seeds = tuple(seeds)

    def judge(a, b):
        return claims.beats(a, table.get(a, []), b, table.get(b, []), "final_smoothed_loss", seeds, MARGIN,
                            higher_is_better=False, win="below")

    out = []
    if "adashift" in table and len(table) > 1:
        others = [o for o in table if o != "adashift"]
        out.append(claims.claim(f"AdaShift reaches the lowest critic loss ({where})",
                                [judge("adashift", o) for o in others], why=why(table, ["adashift", *others])))
    if {"adam", "amsgrad"} <= set(table):
        out.append(claims.claim(f"AMSGrad below Adam ({where}; the mknbv reproduction; the paper had Adam below "
                                f"AMSGrad)", [judge("amsgrad", "adam")], why=why(table, ["amsgrad", "adam"])))
    return out


def why(table: dict, names: list[str]) -> str:
    """The evidence when a claim fails: how far apart the optimizers end on the same seed (the same
    fixed generator), against how far one optimizer moves from seed to seed, and which one is lowest."""
    seeds = sorted(set.intersection(*({r["seed"] for r in table.get(o, [])} for o in names))) if names else []
    if not seeds:
        return ""
    loss = {o: {r["seed"]: r["final_smoothed_loss"] for r in table[o]} for o in names}
    gaps = [max(loss[o][s] for o in names) - min(loss[o][s] for o in names) for s in seeds]
    moves = [spread([loss[o][s] for s in seeds])["std"] for o in names] if len(seeds) > 1 else [0.0]
    lowest = min(names, key=lambda o: sum(loss[o][s] for s in seeds))
    return (f"on the same seed the {len(names)} optimizers end {sum(gaps) / len(gaps):.0f} apart on average "
            f"(max - min over {len(seeds)} seeds), while one optimizer's loss moves by {sum(moves) / len(moves):.0f} "
            f"(std) from seed to seed; the lowest mean is {lowest}'s")


def write_results(name, bench, state: dict, root: Path, write: bool = True) -> dict:
    grid, authors, best = ({o: rows for o, rows in state[k].items() if rows} for k in ("grid", "authors", "best"))
    tunings = state["tunings"]
    out = root / "results" / "gan" / name
    row_paths = sorted((out / "runs").glob("*.json")) if (out / "runs").is_dir() else []
    all_rows = [read_row(p, ROW_KEYS) for p in row_paths]
    summary = {"benchmark": name, "definition": asdict(bench), "protocol": __doc__.split("\n\n")[2],
               "tuning_protocol": asdict(PROTOCOL),
               "command": f"python -m gan.benchmark --benchmark {name}",
               "lr_grid": {o: [{"lr": r["lr"], "final_smoothed_loss": r["final_smoothed_loss"],
                                "diverged": bool(r.get("diverged"))} for r in rows] for o, rows in grid.items()},
               # per optimizer with a finished tuning: its best lr and whether that lies at the grid's edge
               "grid_choice": {o: {"lr": t.chosen, "at_grid_edge": t.edge, "note": t.note}
                               for o, t in tunings.items() if t.complete and o in grid},
               "tuning": {o: t.as_dict() for o, t in tunings.items() if o in grid},
               "at_authors_lr": {o: _entry(rows) for o, rows in authors.items()},
               "at_best_grid_lr": {o: {**_entry(rows), "provisional": not tunings[o].complete}
                                   for o, rows in best.items()},
               "verdicts": verdicts(authors, bench.seeds, "authors' lrs") + verdicts(
                   {o: rows for o, rows in best.items() if tunings[o].complete and o not in USER}, bench.seeds,
                   "each optimizer at its interior-optimal lr"),
               "wall_hours": sum(r["train_seconds"] for r in all_rows) / 3600, "distinct_runs": len(all_rows),
               "versions": provenance.versions(("torch",)),
               "machine": provenance.machine(),  # where this summary was written
               "run_machines": provenance.machines_of(all_rows),  # where the runs' wall time was spent
               "run_code": provenance.code_of(all_rows)}  # the code they were made with
    if not write:
        return summary
    return resultsdir.write(out, summary, document(summary), ("critic_loss.png", plot),
                            [tensorboard_run(bench, row) for row in all_rows], row_paths)


def document(summary: dict) -> Document:
    """The page of a summary (``results.md``): a function of the summary alone, so a checked-in page
    can be checked against its summary (tests/test_overview.py)."""
    d, name = SimpleNamespace(**summary["definition"]), summary["benchmark"]
    doc = Document().heading(f"WGAN critic benchmark `{name}`").text(
        f"{d.dataset}, fixed generator, loss {d.loss}, batch {d.batch_size}, {d.iterations} "
        f"critic steps, betas {tuple(d.betas)}, AdaShift keep_num {d.keep_num} reduce {d.reduce}. Final "
        f"loss: the last value of the {d.smoothing}-step box-smoothed critic loss (lower: the critic separates "
        f"real from generated images further; the loss is unbounded below); mean ± std [{INTERVAL}] "
        f"over seeds. Command: `{summary['command']}`. Training time of the "
        f"{summary['distinct_runs']} distinct runs: {summary['wall_hours']:.2f} wall hours "
        f"({summary['run_machines']}). Code of the runs (suite commit, "
        f"torch): {summary['run_code']}.")
    for title, table in (("At the authors' lr", summary["at_authors_lr"]), ("At the grid's best lr",
                                                                            summary["at_best_grid_lr"])):
        doc.heading(title, 2).table(
            ["optimizer", "lr", "seeds", "final smoothed critic loss"],
            [[o + (" (provisional: grid still growing)" if e.get("provisional") else ""), f"{e['lr']:.3g}",
              len(e["runs"]), format_spread(e["final_smoothed_loss"], significant=4)] for o, e in table.items()])
    for where, table in (("authors' lrs", {o: e["runs"] for o, e in summary["at_authors_lr"].items()}),
                         ("each at its grid's best lr", {o: e["runs"] for o, e in summary["at_best_grid_lr"].items()})):
        differences = {o: paired(table, o, "adam") for o in table if o != "adam"} if "adam" in table else {}
        if not any(differences.values()):
            continue
        doc.heading(f"Seed by seed against Adam ({where})", 2).text(
            "The same seed means the same fixed generator and data order, so the per-seed difference is far "
            "less noisy than the spread of either optimizer over seeds.").table(
            ["optimizer", "seeds", "final loss minus Adam's, mean ± std [95% t interval]"],
            [[o, d["n"], format_spread(d, significant=4)]
             for o, d in differences.items() if d])
    doc.heading("lr grid (seed {}; suite_results.tuning)".format(d.seeds[0]), 2).text(
        "The grid starts at the authors' lr x 1/3, 1, 3 and is extended past its edge until its best value is "
        "interior: the critic loss is unbounded below, so 'interior' means a larger lr no longer lowers the "
        "final smoothed loss, or diverges.").table(
        ["optimizer", "lr: final smoothed critic loss", "best lr", "where the extension stopped"],
        [[o, ", ".join(f"{g['lr']:.3g}: diverged" if g["diverged"] else f"{g['lr']:.3g}: {g['score']:.4g}"
                       for g in summary["tuning"][o]["grid"]),
          (f"{summary['grid_choice'][o]['lr']:.3g}" + edge_note(summary["grid_choice"][o]["lr"],
                                                                [g["lr"] for g in summary["tuning"][o]["grid"]]))
          if o in summary["grid_choice"] else "- (grid growing: " + ", ".join(
              f"{lr:.3g}" for _, lr in summary["tuning"][o]["needed"]) + " to run)",
          summary["tuning"][o]["note"]] for o in summary["tuning"]])
    claims.verdict_section(doc, summary["verdicts"], MARGIN)
    return doc


def tensorboard_run(bench: Benchmark, row: dict) -> tb.Run:
    """One row as a TensorBoard run: its smoothed critic loss, final value and settings."""
    optimizer = row["optimizer"]
    adashift = {"keep_num": bench.keep_num, "reduce": bench.reduce} if optimizer == "adashift" else {}
    return tb.Run(tb.run_name(optimizer, None, row["lr"], row["seed"]),
                  curves={"critic/smoothed_loss": list(zip(row["steps"], row["smoothed_loss"]))},
                  hparams={"optimizer": optimizer, "lr": row["lr"], "seed": row["seed"],
                           "authors_lr": row["lr"] == bench.lr_for(optimizer), "diverged": bool(row.get("diverged")),
                           "beta1": bench.betas[0], "beta2": bench.betas[1], **adashift},
                  metrics={"final/smoothed_loss": row["final_smoothed_loss"]})


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
    atomic_savefig(fig, path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gan.benchmark", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmark", choices=list(BENCHMARKS), default="fmnist-critic")
    parser.add_argument("--optimizers", nargs="+", default=None)
    sweeps.add_arguments(parser)
    slurm.add_arguments(parser)
    args = parser.parse_args(argv)
    run_benchmark(args.benchmark, args.root, args.optimizers, args.train, slurm_config=slurm.config_from(args),
                  plan=args.plan)
    if args.plan:
        return 0
    print((args.root / "results" / "gan" / args.benchmark / "results.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli("python -m gan.benchmark", main))
