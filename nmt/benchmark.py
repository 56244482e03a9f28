"""Named translation benchmarks with a fair protocol: ``python -m nmt benchmark --benchmark bible-cpu``.

A benchmark fixes data, model, schedule, budgets and evaluation; every optimizer gets the same
tuning budget (in the style of DeepOBS and AlgoPerf):

1. tuning: each candidate trains ``grid_updates`` updates with seed ``grid_seed`` at each lr of its
   log-spaced grid (3 values around its paper/default value); the lr with the lowest validation
   loss is chosen;
2. full: the chosen lr trains ``full_updates`` updates on every seed of ``seeds``; each run is
   scored with sacrebleu BLEU and chrF on *all* test sentences (beam 4), and its updates and wall
   seconds to reach ``target_valid_loss`` are read from its validation curve (time-to-target).
   The sweep trains every grid first, then the full runs seed by seed (all candidates' seed 1
   first), so a sweep cut short still compares every candidate on the same seeds.

The same warmup schedule (inverse_sqrt, linear warmup from 1e-7) and gradient clipping hold for
every candidate. fairseq's built-in ``adam`` runs beside our ``plugin_adam`` as a sanity row, at
the lr chosen for ``adam`` (no grid of its own: the two are the same rule).

Every run directory is keyed on its full configuration (``suite_results.rundir``), so a changed
benchmark definition never reuses a run. Each finished run also lands as a small JSON row under
``results/nmt/<benchmark>/runs/`` (committed with the results): a later invocation, on any machine,
reuses those rows instead of training again, so the sweep resumes across sessions; an interrupted
run resumes from its fairseq checkpoint. ``summary.json``, ``results.md`` and ``valid_loss.png``
are rewritten from all rows after every run, so partial results are always readable.

Our optimizers also run with ``--optimizer-diagnostics 10`` (an observation, not part of a run's
configuration): each row keeps the mean of the decorrelation probe's statistics over the second
half of the run, and the summary reports them per optimizer.
"""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path

from suite_results import rundir
from suite_results.files import atomic_write_text
from suite_results.scalars import read_scalars
from suite_results.stats import edge_note, format_spread, grid_edge, spread
from suite_results.tables import Document

from .experiment import evaluate, fairseq_train, validation_curve
from .prepare import prepare

TRANSFORMER_SMALL = ["--arch", "transformer", "--encoder-layers", "3", "--decoder-layers", "3",
                     "--encoder-embed-dim", "256", "--decoder-embed-dim", "256",
                     "--encoder-ffn-embed-dim", "512", "--decoder-ffn-embed-dim", "512",
                     "--encoder-attention-heads", "4", "--decoder-attention-heads", "4",
                     "--share-all-embeddings", "--dropout", "0.1"]

# name -> (fairseq flags without --lr, lr grid around the paper/default value)
CANDIDATES = {
    "adam": (["--optimizer", "plugin_adam", "--adam-betas", "(0.9, 0.98)"], [3e-4, 1e-3, 3e-3]),
    "amsgrad": (["--optimizer", "amsgrad", "--adam-betas", "(0.9, 0.98)"], [3e-4, 1e-3, 3e-3]),
    "adamal": (["--optimizer", "adamal", "--adam-betas", "(0.9, 0.98)"], [3e-4, 1e-3, 3e-3]),
    "adopt": (["--optimizer", "adopt"], [3e-4, 1e-3, 3e-3]),
    # the authors' NMT setting, and the first author's advice for Transformers
    "adashift-paper": (["--optimizer", "adashift", "--adam-betas", "(0.0, 0.9)", "--keep-num", "40",
                        "--reduce", "max"], [3e-3, 1e-2, 3e-2]),
    "adashift-transformer": (["--optimizer", "adashift", "--adam-betas", "(0.0, 0.999)", "--keep-num", "1",
                              "--reduce", "max"], [3e-4, 1e-3, 3e-3]),
    "sgd": (["--optimizer", "sgd", "--momentum", "0.9"], [0.03, 0.1, 0.3]),
    "fairseq-adam": (["--optimizer", "adam", "--adam-betas", "(0.9, 0.98)"], []),  # uses adam's lr
    # opt-in ablation (not in a benchmark's default candidates): adashift-transformer with the
    # per-tensor max replaced by an elementwise v, to isolate what the reduce costs
    "adashift-elementwise": (["--optimizer", "adashift", "--adam-betas", "(0.0, 0.999)", "--keep-num", "1",
                              "--reduce", "none"], [3e-4, 1e-3, 3e-3]),
}
# the default candidates, fixed: a benchmark's definition is part of every run's key, so adding an
# entry to CANDIDATES must not change it (an added candidate is run with --candidates NAME)
PROTOCOL = ("adam", "amsgrad", "adamal", "adopt", "adashift-paper", "adashift-transformer", "sgd", "fairseq-adam")
SANITY = {"fairseq-adam": "adam"}  # candidate -> the candidate whose chosen lr it takes
PROBED = {"adam", "amsgrad", "adamal", "adopt", "adashift-paper", "adashift-transformer",  # our adapters
          "adashift-elementwise"}
DIAGNOSTICS = ["--optimizer-diagnostics", "10"]  # observation only: not part of a run's configuration


@dataclass(frozen=True)
class Benchmark:
    corpus: str
    valid: int
    test: int
    vocab_size: int
    model: list
    full_updates: int
    grid_updates: int
    target_valid_loss: float
    seeds: tuple = (1, 2, 3)
    grid_seed: int = 1
    max_tokens: int = 4096
    warmup_updates: int = 400
    validate_every: int = 100
    clip_norm: float = 1.0
    max_train: int | None = None
    candidates: tuple = PROTOCOL
    claims: tuple = field(default=())

    def flags(self, candidate: str, lr: float, seed: int, updates: int) -> list[str]:
        return [*self.model, *CANDIDATES[candidate][0], "--lr", repr(lr), "--lr-scheduler", "inverse_sqrt",
                "--warmup-updates", str(self.warmup_updates), "--warmup-init-lr", "1e-07",
                "--clip-norm", str(self.clip_norm), "--criterion", "label_smoothed_cross_entropy",
                "--label-smoothing", "0.1", "--max-tokens", str(self.max_tokens), "--max-update", str(updates),
                "--seed", str(seed), "--validate-interval-updates", str(self.validate_every),
                "--save-interval-updates", str(self.validate_every)]


BENCHMARKS = {
    # measured here: fairseq adam 1e-3 reaches BLEU 26.9 in 1500 updates (25 min on 2 cores)
    "bible-cpu": Benchmark(corpus="bible-en-es", valid=500, test=1000, vocab_size=8000, model=TRANSFORMER_SMALL,
                           full_updates=1500, grid_updates=300, target_valid_loss=6.0),
    # the GPU-scale twin: transformer-base, 30k updates (not run on this CPU)
    "bible-gpu": Benchmark(corpus="bible-en-es", valid=500, test=1000, vocab_size=8000,
                           model=["--arch", "transformer", "--share-all-embeddings", "--dropout", "0.3"],
                           full_updates=30_000, grid_updates=3_000, target_valid_loss=4.5, warmup_updates=4000,
                           validate_every=1000),
    # seconds, for the tests: the protocol end to end on a sliver of the corpus
    "bible-tiny": Benchmark(corpus="bible-en-es", valid=20, test=23, vocab_size=300, max_train=300,
                            model=["--arch", "transformer", "--encoder-layers", "1", "--decoder-layers", "1",
                                   "--encoder-embed-dim", "32", "--decoder-embed-dim", "32",
                                   "--encoder-ffn-embed-dim", "64", "--decoder-ffn-embed-dim", "64",
                                   "--encoder-attention-heads", "2", "--decoder-attention-heads", "2",
                                   "--share-all-embeddings"],
                            full_updates=8, grid_updates=4, target_valid_loss=12.0, seeds=(1, 2), max_tokens=512,
                            warmup_updates=2, validate_every=2),
}


def _row_path(results: Path, row_config: dict) -> Path:
    c = row_config
    return results / "runs" / f"{c['candidate']}-{c['phase']}-lr{c['lr']:g}-s{c['seed']}-{rundir.config_key(c)}.json"


def run_row(bench: Benchmark, name: str, data: Path, runs: Path, results: Path, candidate: str, phase: str,
            lr: float, seed: int, train: bool = True) -> dict | None:
    """One run of the protocol, or its committed row when one exists for exactly this configuration
    (None for a missing row when ``train`` is False)."""
    updates = bench.full_updates if phase == "full" else bench.grid_updates
    flags = bench.flags(candidate, lr, seed, updates)
    row_config = {"benchmark": name, "definition": asdict(bench), "candidate": candidate, "phase": phase,
                  "lr": lr, "seed": seed, "flags": flags}
    path = _row_path(results, row_config)
    if path.exists():
        return json.loads(path.read_text())
    if not train:
        return None
    run_dir = runs / path.stem
    trained = fairseq_train(data, run_dir, [*flags, *(DIAGNOSTICS if candidate in PROBED else [])], row_config)
    curve = validation_curve(run_dir, with_time=True)
    reached = next(((u, s) for u, loss, s in curve if loss <= bench.target_valid_loss), (None, None))
    row = {"candidate": candidate, "phase": phase, "lr": lr, "seed": seed, "updates": updates,
           "best_valid_loss": min((loss for _, loss, _ in curve), default=None),
           "valid_curve": [[u, loss] for u, loss, _ in curve], "updates_to_target": reached[0],
           "seconds_to_target": reached[1], "wall_s": trained["wall_s"], "command": trained["command"],
           "run_dir": str(run_dir), "diagnostics": decorrelation(run_dir)}
    if phase == "full":
        scores = evaluate(data, run_dir, beam=4)
        if scores["sentences"] != bench.test:
            raise RuntimeError(f"{run_dir}: scored {scores['sentences']} of {bench.test} test sentences")
        row.update({k: scores[k] for k in ("bleu", "chrf", "sentences", "bleu_signature", "chrf_signature")})
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(row, indent=1))
    return row


def decorrelation(run_dir: Path) -> dict:
    """Means over the second half of a run of the probe's diag_* scalars (optim_plugins.diagnostics)."""
    out = {}
    for tag, events in read_scalars(Path(run_dir) / "tb" / "train_inner", prefix="diag_").items():
        kept = [e.value for e in events if e.step >= events[-1].step / 2]
        out[tag[len("diag_"):]] = sum(kept) / len(kept)
    return out


def choose_lr(rows: list[dict]) -> float | None:
    """The lr whose tuning run reached the lowest validation loss (None until the grid is complete)."""
    scored = [r for r in rows if r["best_valid_loss"] is not None]
    return min(scored, key=lambda r: r["best_valid_loss"])["lr"] if scored else None


def run_benchmark(name: str, root: Path = Path("."), candidates: list[str] | None = None,
                  train: bool = True, tune_only: bool = False) -> dict:
    """The whole protocol for ``name``; returns the summary (also written under results/nmt/<name>/).
    A tqdm bar counts the runs (reused rows included) with an ETA; fairseq's per-update log of each
    run is in its run directory's train.log. ``train=False`` trains nothing: it rewrites the results
    from the rows there are (the data's description from the last summary.json, if there is one).
    ``tune_only`` trains the tuning grids only (full runs already there are still reported): every
    candidate's lr is decided before the long full runs start."""
    from tqdm import tqdm
    bench = BENCHMARKS[name]
    candidates = list(candidates or bench.candidates)
    unknown = [c for c in candidates if c not in CANDIDATES]
    if unknown:
        raise ValueError(f"Unknown candidate(s) {unknown}; choose from: {', '.join(CANDIDATES)}")
    data = root / "outputs" / "nmt" / f"bench-{name}"
    runs, results = root / "runs" / "nmt" / "bench" / name, root / "results" / "nmt" / name
    last = results / "summary.json"
    prepared = json.loads(last.read_text())["data"] if not train and last.exists() else prepare(
        bench.corpus, data, bench.valid, bench.test, bench.max_train, bench.vocab_size, seed=1)
    grid, full, chosen = {}, {}, {}
    # sanity rows after the one they follow; the results show every candidate with rows, the
    # trained ones or not (--candidates chooses what trains, never what the summary keeps)
    order = sorted(candidates, key=lambda c: c in SANITY)
    shown = sorted(dict.fromkeys([*bench.candidates, *candidates, *CANDIDATES]), key=lambda c: c in SANITY)

    def put(rows: list, row: dict, key: str) -> bool:
        """Add ``row`` to ``rows`` (kept sorted by ``key``); False when it was already there."""
        if any(r[key] == row[key] for r in rows):
            return False
        rows.append(row)
        rows.sort(key=lambda r: r[key])
        return True

    def visit(which: list[str], train_now: bool, bar=None) -> None:
        """Put the rows of ``which`` into grid/chosen/full, training the missing ones when train_now:
        first every candidate's grid, then the full runs seed by seed (every candidate's seed 1 before any seed 2,
        so an interrupted sweep still compares all candidates on the same seeds). The results are
        rewritten after every new row, from all rows known so far."""
        def after(row, rows, key, label):
            if bar is not None:
                bar.update(1)
            if row is not None and put(rows, row, key) and bar is not None:
                if "bleu" in row:
                    bar.write(f"{label}: BLEU {row['bleu']} chrF {row['chrf']} ({row['wall_s']:.0f} s)")
                write_results(name, bench, prepared, grid, full, chosen, results)

        for candidate in which:
            rows = grid.setdefault(candidate, [])
            for lr in CANDIDATES[candidate][1]:
                label = f"{candidate} tune lr {lr:g}"
                if bar is not None:
                    bar.set_postfix_str(label)
                after(run_row(bench, name, data, runs, results, candidate, "tune", lr, bench.grid_seed, train_now),
                      rows, "lr", label)
            complete = len(rows) == len(CANDIDATES[candidate][1])
            chosen[candidate] = (chosen.get(SANITY[candidate]) if candidate in SANITY
                                 else choose_lr(rows) if complete else None)
        if train_now and tune_only:
            return  # the full rows there are were put in by the first visit
        for seed in bench.seeds:
            for candidate in which:
                if chosen[candidate] is None:
                    if bar is not None:
                        bar.update(1)
                    continue
                label = f"{candidate} lr {chosen[candidate]:g} seed {seed}"
                if bar is not None:
                    bar.set_postfix_str(label)
                after(run_row(bench, name, data, runs, results, candidate, "full", chosen[candidate], seed,
                              train_now and not tune_only), full.setdefault(candidate, []), "seed", label)

    visit(shown, False)  # first every row there is, so partial results always show all of them
    if train:
        total = sum(len(CANDIDATES[c][1]) + (0 if tune_only else len(bench.seeds)) for c in candidates)
        with tqdm(total=total, desc=f"nmt benchmark {name}", unit="run") as bar:
            visit(order, True, bar)
    return write_results(name, bench, prepared, grid, full, chosen, results)


def _versions() -> dict:
    from importlib import metadata

    versions = {}
    for package in ("torch", "fairseq-fixed", "sacrebleu", "sentencepiece"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def _machine() -> dict:
    import os

    import torch

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available()
            else None, "python": platform.python_version()}


def _paired_bleu(by: dict, a: str, b: str) -> str:
    """'; per seed -0.85 [-1.2, -0.5]': a's BLEU minus b's on the seeds both ran (the same seed: the
    same initialisation and batches), or '' without common seeds."""
    theirs = {r["seed"]: r["bleu"] for r in by[b].get("runs", [])}
    diffs = [r["bleu"] - theirs[r["seed"]] for r in by[a].get("runs", []) if r["seed"] in theirs]
    if not diffs:
        return ""
    d = spread(diffs)
    return f"; per seed {d['mean']:+.2f} [{d['ci_low']:+.2f}, {d['ci_high']:+.2f}] ({d['n']} seeds)"


def verdicts(summary: dict) -> list[dict]:
    """The claims, each reproduced / not reproduced / pending, with the numbers."""
    by = summary["optimizers"]
    out = []

    def mean(c, key="bleu"):
        return by[c][key]["mean"] if c in by and key in by[c] else None

    adam = mean("adam")
    for c in ("adashift-paper", "adashift-transformer", *(["adashift-elementwise"] if "adashift-elementwise" in by
                                                          else [])):  # the ablation only once it ran
        shift = mean(c)
        claim = f"{c} within 1 BLEU of Adam (AdaShift paper: competitive with Adam on NMT)"
        if adam is None or shift is None:
            out.append({"claim": claim, "verdict": "pending", "measured": "runs missing"})
        else:
            out.append({"claim": claim, "verdict": "reproduced" if shift >= adam - 1 else "not reproduced",
                        "measured": f"{c} {shift:.2f} vs Adam {adam:.2f} BLEU" + _paired_bleu(by, c, "adam")})
    plugin, builtin = mean("adam"), mean("fairseq-adam")
    claim = "sanity: our plugin_adam within 0.5 BLEU of fairseq's built-in adam"
    out.append({"claim": claim, "measured": "runs missing" if None in (plugin, builtin) else
                f"plugin {plugin:.2f} vs built-in {builtin:.2f}",
                "verdict": "pending" if None in (plugin, builtin) else
                ("reproduced" if abs(plugin - builtin) <= 0.5 else "not reproduced")})
    return out


def write_results(name, bench, prepared, grid, full, chosen, results: Path) -> dict:
    optimizers = {}
    for candidate, rows in full.items():
        if not rows:
            continue
        entry = {"lr": chosen[candidate], "flags": CANDIDATES[candidate][0], "seeds": [r["seed"] for r in rows],
                 "runs": rows, "lr_at_grid_edge": grid_edge(chosen[candidate], [r["lr"] for r in grid.get(candidate, [])])}
        for key in ("bleu", "chrf", "wall_s"):
            entry[key] = spread([r[key] for r in rows])
        reached = [r["updates_to_target"] for r in rows if r["updates_to_target"] is not None]
        entry["updates_to_target"] = spread(reached) if reached else None
        entry["reached_target"] = f"{len(reached)}/{len(rows)}"
        for key in ("corr", "net_update_ratio"):
            values = [r["diagnostics"][key] for r in rows if key in r.get("diagnostics", {})]
            if values:
                entry.setdefault("decorrelation", {})[key] = spread(values)
        optimizers[candidate] = entry
    summary = {"benchmark": name, "definition": asdict(bench), "data": prepared, "protocol": __doc__.split("\n\n")[1],
               "lr_grid": {c: [{"lr": r["lr"], "best_valid_loss": r["best_valid_loss"]} for r in rows]
                           for c, rows in grid.items()},
               "chosen_lr": {c: chosen.get(c) for c in grid},  # None until the candidate's grid is complete
               "optimizers": optimizers, "versions": _versions(), "machine": _machine(),
               "command": f"python -m nmt benchmark --benchmark {name}",
               "cpu_hours": sum(r["wall_s"] for rows in (*grid.values(), *full.values()) for r in rows) / 3600}
    summary["verdicts"] = verdicts(summary)
    results.mkdir(parents=True, exist_ok=True)
    atomic_write_text(results / "summary.json", json.dumps(summary, indent=1))
    document(summary).write(results / "results.md")
    plot_curves(summary, results / "valid_loss.png")
    return summary


def document(summary: dict) -> Document:
    d = summary["definition"]
    doc = Document().heading(f"NMT benchmark `{summary['benchmark']}`").text(
             f"{summary['data']['corpus']} {summary['data']['source']}->{summary['data']['target']}, "
             f"{summary['data']['train_pairs']} training pairs, all {d['test']} test sentences scored (beam 4); "
             f"{d['full_updates']} updates per run, lr tuned on a {d['grid_updates']}-update grid (seed "
             f"{d['grid_seed']}), inverse_sqrt warmup {d['warmup_updates']}, clip-norm {d['clip_norm']}. "
             f"Command: `{summary['command']}`. Wall hours of the runs so far (this machine, 2 cores): "
             f"{summary['cpu_hours']:.2f}.").text("BLEU and chrF: mean ± std [95% bootstrap interval] over seeds.")
    rows = []
    for c, e in summary["optimizers"].items():
        target = e["updates_to_target"]
        rows.append([c, f"{e['lr']:g}", len(e["runs"]), format_spread(e["bleu"]), format_spread(e["chrf"]),
                     f"{target['mean']:.0f} ({e['reached_target']})" if target else f"- ({e['reached_target']})",
                     f"{e['wall_s']['mean']:.0f}"])
    doc.table(["optimizer", "lr", "seeds", "BLEU", "chrF", f"updates to valid loss {d['target_valid_loss']}",
               "wall s per run"], rows)
    probed = {c: e["decorrelation"] for c, e in summary["optimizers"].items() if "decorrelation" in e}
    if probed:
        doc.text("Decorrelation in real training (`--optimizer-diagnostics 10`, second half of each full run): "
                 "corr(|g_t|, step size) and the net update ratio (1: the step ignores the gradient's size).")
        doc.table(["optimizer", "corr", "net update ratio"],
                  [[c, format_spread(p["corr"], 3) if "corr" in p else "-",
                    format_spread(p["net_update_ratio"], 3) if "net_update_ratio" in p else "-"]
                   for c, p in probed.items()])
    doc.heading("Verdicts", 2).table(["claim", "measured", "verdict"],
                                     [[v["claim"], v["measured"], v["verdict"]] for v in summary["verdicts"]])
    doc.heading("lr grid (best validation loss of each tuning run)", 2).text(
        "A chosen lr at the grid's edge means the best setting may lie beyond the grid.").table(
        ["optimizer", "lr: best valid loss", "chosen"],
        [[c, ", ".join(f"{r['lr']:g}: {r['best_valid_loss']:.3f}" if r["best_valid_loss"] is not None
                       else f"{r['lr']:g}: -" for r in grid_rows),
          f"{summary['chosen_lr'][c]:g}" + edge_note(summary["chosen_lr"][c], [r["lr"] for r in grid_rows])
          if summary.get("chosen_lr", {}).get(c) is not None else "- (grid incomplete)"]
         for c, grid_rows in summary["lr_grid"].items() if grid_rows])
    return doc


def plot_curves(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for index, (c, e) in enumerate(summary["optimizers"].items()):
        curves = [dict(r["valid_curve"]) for r in e["runs"] if r["valid_curve"]]
        if not curves:
            continue
        steps = sorted(set.intersection(*(set(curve) for curve in curves)))
        values = np.array([[curve[s] for s in steps] for curve in curves])
        mean = values.mean(0)
        ax.plot(steps, mean, color=f"C{index}", label=f"{c} (lr {e['lr']:g}, {len(curves)} seeds)")
        ax.fill_between(steps, values.min(0), values.max(0), color=f"C{index}", alpha=0.2)
    ax.axhline(summary["definition"]["target_valid_loss"], color="grey", lw=0.6, ls="--")
    ax.set(xlabel="updates", ylabel="validation loss (label-smoothed, base 2)",
           title=f"{summary['benchmark']}: mean over seeds, band = min..max")
    if ax.get_legend_handles_labels()[0]:  # none before the first full run
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
