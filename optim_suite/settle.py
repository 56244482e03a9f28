"""``optim-suite settle``: any torch optimizer through the suite's benchmarks, against the checked-in
baselines, in one command.

    optim-suite settle --optimizer torch.optim:NAdam --benchmarks theory fmnist-resnet fmnist-critic bible-cpu
    optim-suite settle --optimizer mypkg.opt:Lion --set betas=0.9,0.99 --lr-grid 1e-4 3e-4 1e-3 --benchmarks ...
    optim-suite settle --candidates mine.toml --benchmarks fmnist-tiny --dry-run     # the runs and hours only

The candidate goes through each benchmark's own tuning protocol (``suite_results.tuning``: grid,
promotion, the choice interior at the full budget, the benchmark's seeds, Stein's extra seeds for
its verdicts); only its runs are made: the baselines' checked-in rows are reused as they are. Its
rows land under ``results/<family>/<benchmark>/candidates/<name>/`` (the benchmark's own pages and
verdicts read ``runs/`` and stay untouched). One page, ``results/settle/<name>/results.md``:

* per benchmark, its tuned result against tuned Adam and against the suite's best, each as "better
  than", "within the benchmark's margin of" and "worse than", with the suite's three outcomes
  (``suite_results.claims``);
* the counterexamples (``optim_suite.theory``): the right way on Reddi's sequential problems and on
  the stochastic one, and its critical C on the non-convergence map beside Adam's;
* step time and state bytes per parameter against torch's fused Adam;
* a performance profile across the benchmarks in the style of AlgoPerf: each candidate's steps to
  the benchmark's target (updates for translation, epochs for images; steps, not seconds, because
  the rows' seconds come from different machines), its ratio to the best on that benchmark (a miss
  is infinite), and the fraction of benchmarks within a ratio tau, tau from 1 to 4.

Before training it prints the runs it will make and an estimate of the CPU hours per benchmark
(from the checked-in rows' wall times), and, where the candidate has rows already (a resumed run),
the runs left now; ``--dry-run`` prints only that.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from suite_results import candidates as candidate_data
from suite_results import claims, provenance, sweeps
from suite_results.candidates import Candidate
from suite_results.cli import check_choices
from suite_results.files import atomic_savefig, atomic_write_text
from suite_results.rows import estimate_hours
from suite_results.tables import Document


POLL_S = 60.0  # how often a copy waiting for another copy's run looks again


@dataclass(frozen=True)
class Family:
    """How settle reaches one benchmark family."""

    package: str  # nmt, vision, gan
    metric: str  # the per-row result compared
    higher_is_better: bool
    unit: str


FAMILIES = {"nmt": Family("nmt", "bleu", True, "BLEU"), "vision": Family("vision", "test_accuracy", True, "points"),
            "gan": Family("gan", "final_smoothed_loss", False, "")}


def family_of(benchmark: str) -> str:
    from gan.benchmark import BENCHMARKS as GAN  # noqa: PLC0415
    from nmt.benchmark import BENCHMARKS as NMT  # noqa: PLC0415
    from vision.benchmark import BENCHMARKS as VISION  # noqa: PLC0415

    for family, table in (("nmt", NMT), ("vision", VISION), ("gan", GAN)):
        if benchmark in table:
            return family
    known = ["theory", *NMT, *VISION, *GAN]
    raise ValueError(f"--benchmarks: unknown benchmark {benchmark!r} (choose from: {', '.join(known)})")


def _module(family: str):
    import importlib  # noqa: PLC0415

    return importlib.import_module(f"{family}.benchmark")


def _with_candidate(family: str, candidate: Candidate):
    """The family's benchmark module with the user's candidate added (once per process)."""
    module = _module(family)
    if candidate.name not in getattr(module, "USER", ()):
        module.add_candidate(candidate)
    return module


def _results(root: Path, family: str, benchmark: str) -> Path:
    return root / "results" / family / benchmark


# -- cost ----------------------------------------------------------------------------------------

def planned_runs(family: str, benchmark: str, candidate: Candidate) -> dict:
    """The runs the protocol will make for the candidate, at least: its grid, two promoted lrs at the
    full budget and a neighbour there, the other seeds (grids grow and Stein's design may add seeds:
    the page reports what ran)."""
    bench = _module(family).BENCHMARKS[benchmark]
    seeds = len(bench.seeds)
    grid = len(candidate.lr_grid)
    if family == "gan":  # one rung: every grid run has the full budget
        return {"grid": 0, "full": grid + 1 + seeds - 1}
    return {"grid": grid + 1, "full": 3 + seeds - 1}


def hours_per_run(root: Path, family: str, benchmark: str) -> dict:
    """Median wall hours of a checked-in grid row and full row of the benchmark, this machine's rows
    first (``suite_results.rows.estimate_hours``, as every benchmark's ``--plan``; None: no rows)."""
    rows = [json.loads(p.read_text()) for p in sorted((_results(root, family, benchmark) / "runs").glob("*.json"))]
    if family == "gan":  # one rung: every row has the full budget
        return {"grid": None, "full": estimate_hours(rows, None)}
    return {"grid": estimate_hours(rows, None, "tune"), "full": estimate_hours(rows, None, "full")}


def estimate(root: Path, benchmarks: list[str], candidate: Candidate) -> list[dict]:
    out = []
    for benchmark in benchmarks:
        if benchmark == "theory":
            out.append({"benchmark": "theory", "runs": "counterexamples", "cpu_hours": 0.05})
            continue
        family = family_of(benchmark)
        runs, hours = planned_runs(family, benchmark, candidate), hours_per_run(root, family, benchmark)
        if hours["full"] is None:  # no checked-in rows: tuned Adam runs beside the candidate
            out.append({"benchmark": benchmark, "runs": "twice the candidate's (no checked-in rows: Adam runs too)",
                        "cpu_hours": None, "hours_per_run": hours})
            continue
        known = all(hours[k] is not None or runs[k] == 0 for k in runs)
        total = sum(runs[k] * (hours[k] or 0.0) for k in runs) if known else None
        entry = {"benchmark": benchmark, "runs": f"{runs['grid']} grid + {runs['full']} full (at least)",
                 "cpu_hours": total, "hours_per_run": hours}
        made = len(_all_candidate_rows(root, family, benchmark, candidate.name))
        out.append({**entry, "left": left(root, family, benchmark, candidate, made, hours)} if made else entry)
    return out


def left(root: Path, family: str, benchmark: str, candidate: Candidate, made: int, hours: dict) -> dict:
    """What a resumed settle run has left on a benchmark where the candidate has rows already: the runs
    its protocol needs now (the benchmark's own ``--plan``, read quietly), else the seeds Stein's design
    asks for in the candidate's comparisons, each with its CPU hours; a lower bound, as the plan's."""
    module = _with_candidate(family, candidate)
    with contextlib.redirect_stdout(io.StringIO()):  # the plan's own printout: settle prints its own lines
        summary = _run(family, module, benchmark, root, candidate.name, None, train=False, plan=True)
    runs = [{"run": p["run"], "for": p["for"], "cpu_hours": p["cpu_hours"]} for p in summary["plan"]]
    if not any(r["for"] == "protocol" for r in runs):  # the protocol is done: Stein's seeds come next
        phase = "" if family == "gan" else " full"
        planned = {r["run"] for r in runs}
        labels = [f"{c}{phase} lr {lr:g} seed {seed}"
                  for c, lr, seed in claims.to_run(compare(family, benchmark, summary, candidate.name))]
        runs += [{"run": label, "for": "design", "cpu_hours": hours["full"]} for label in labels if label not in planned]
    known = [r["cpu_hours"] for r in runs if r["cpu_hours"] is not None]
    return {"rows_made": made, "runs": runs, "cpu_hours": sum(known) if len(known) == len(runs) else None}


def print_estimate(rows: list[dict], candidate: Candidate) -> None:
    print(f"settle {candidate.name} ({candidate.optimizer}, {candidate.settings() or 'defaults'}, lr grid "
          f"{', '.join(f'{v:g}' for v in candidate.lr_grid)}):", file=sys.stderr)
    for row in rows:
        hours = "unknown (no checked-in rows to time)" if row["cpu_hours"] is None else f"~{row['cpu_hours']:.2f} CPU h"
        print(f"  {row['benchmark']:24} {row['runs']:32} {hours}", file=sys.stderr)
        if "left" in row:
            rest = row["left"]
            cost = "unknown" if rest["cpu_hours"] is None else f"~{rest['cpu_hours']:.2f} CPU h"
            what = (f"left now: {len(rest['runs'])} run(s) (then those they lead to)" if rest["runs"]
                    else "nothing left to run")
            print(f"  {'':24} {rest['rows_made']} rows made already; {what}" + (f": {cost}" if rest["runs"] else ""),
                  file=sys.stderr)
            for r in rest["runs"]:
                hours = "unknown" if r["cpu_hours"] is None else f"~{r['cpu_hours']:.2f} CPU h"
                print(f"  {'':26} {r['run']:44} {r['for']:9} {hours}", file=sys.stderr)


# -- verdicts ------------------------------------------------------------------------------------

def _tuned_rows(family: str, summary: dict, name: str) -> list:
    if family == "gan":
        entry = summary.get("at_best_grid_lr", {}).get(name)
        return entry["runs"] if entry and not entry.get("provisional") else []
    entry = summary.get("optimizers", {}).get(name)
    return entry["runs"] if entry and entry.get("tuned_complete") else []


def _builtin_tuned(family: str, summary: dict, module) -> list[str]:
    """The benchmark's own tuned candidates in the summary (not a user's)."""
    users = set(getattr(module, "USER", ()))
    names = summary.get("at_best_grid_lr", {}) if family == "gan" else summary.get("tuning", {})
    return [c for c in names if c not in users]


def compare(family: str, benchmark: str, summary: dict, candidate: str) -> list[dict]:
    """The candidate against tuned Adam and the suite's best (the tuned built-in with the best mean)."""
    module = _module(family)
    f, margin = FAMILIES[family], module.MARGIN
    seeds = tuple(summary["definition"]["seeds"])
    mine = _tuned_rows(family, summary, candidate)
    if not mine:
        return [claims.claim(f"{benchmark}: {candidate} (tuning under way)", [claims.pending("tuning under way")])]
    builtins = [c for c in _builtin_tuned(family, summary, module) if _tuned_rows(family, summary, c)]

    def mean(c):
        rows = _tuned_rows(family, summary, c)
        return statistics.fmean(r[f.metric] for r in rows) * (1 if f.higher_is_better else -1)

    best = max(builtins, key=mean) if builtins else None
    out = []
    for label, other in (("tuned Adam", "adam"), (f"the suite's best ({best})", best)):
        if other is None or other not in builtins:
            continue
        theirs = _tuned_rows(family, summary, other)
        kw = dict(key=f.metric, seeds=seeds, margin=margin, higher_is_better=f.higher_is_better)
        out += [
            claims.claim(f"{benchmark}: {candidate} better than {label}",
                         [claims.beats(candidate, mine, other, theirs, kw["key"], seeds, margin, f.higher_is_better)]),
            claims.claim(f"{benchmark}: {candidate} within {margin.value:g}{' ' * bool(margin.unit)}{margin.unit} of {label}",
                         [claims.equivalent(candidate, mine, other, theirs, kw["key"], seeds, margin.value, margin,
                                            f.higher_is_better)]),
            claims.claim(f"{benchmark}: {candidate} worse than {label}",
                         [claims.beats(other, theirs, candidate, mine, kw["key"], seeds, margin, f.higher_is_better)]),
        ]
    return out


# -- the performance profile ---------------------------------------------------------------------

def steps_to_target(family: str, summary: dict, name: str) -> float:
    """Mean steps to the benchmark's target over the candidate's tuned rows (inf: a seed missed it)."""
    rows = _tuned_rows(family, summary, name)
    key = {"nmt": "updates_to_target", "vision": "epochs_to_target"}.get(family)
    if not rows or key is None or any(r.get(key) is None for r in rows):
        return math.inf
    return statistics.fmean(r[key] for r in rows)


def profile(per_benchmark: dict, taus=(1.0, 1.25, 1.5, 2.0, 3.0, 4.0)) -> dict:
    """AlgoPerf's performance profile: for each candidate, the fraction of benchmarks where its steps
    to target are within tau times the best's (a miss is infinite)."""
    names = sorted({n for table in per_benchmark.values() for n in table})
    ratios = {n: [] for n in names}
    for table in per_benchmark.values():
        best = min(table.values())
        for n in names:
            t = table.get(n, math.inf)
            ratios[n].append(t / best if math.isfinite(t) and math.isfinite(best) else math.inf)
    return {n: {f"{tau:g}": sum(r <= tau for r in ratios[n]) / len(ratios[n]) for tau in taus} for n in names} \
        if per_benchmark else {}


# -- speed ---------------------------------------------------------------------------------------

def step_speed(optimizer: str, settings: dict, params: float = 2e6, rounds: int = 15) -> dict:
    """Median step time and state bytes per parameter, against torch's fused Adam on the same tensors."""
    import torch  # noqa: PLC0415

    torch.manual_seed(0)
    d = 256
    shapes = [(8000, d)] + [(d, d)] * max(1, int((params - 8000 * d) // (d * d)))
    with provenance.OtherLoad() as load:  # a sweep beside the timing is said on the page
        out = _time_steps(shapes, rounds, optimizer, settings)
    out["ratio_to_fused_adam"] = out["candidate"]["median_ms"] / out["torch.Adam fused"]["median_ms"]
    out["threads"] = torch.get_num_threads()
    out["cores"] = os.cpu_count()
    out["others_busy_cores"] = None if load.cores is None else round(load.cores, 2)
    return out


def _time_steps(shapes, rounds: int, optimizer: str, settings: dict) -> dict:
    import torch  # noqa: PLC0415

    from optim_plugins.registry import build_any  # noqa: PLC0415

    out = {}
    for label, make in (("torch.Adam fused", lambda p: torch.optim.Adam(p, lr=1e-3, fused=True)),
                        ("candidate", lambda p: build_any(optimizer, p, lr=1e-3, **settings))):
        tensors = [torch.randn(s, requires_grad=True) for s in shapes]
        for t in tensors:
            t.grad = torch.randn_like(t) * 1e-2
        opt = make(tensors)
        times = []
        for i in range(rounds + 3):
            start = time.perf_counter()
            opt.step()
            if i >= 3:
                times.append(time.perf_counter() - start)
        numel = sum(t.numel() for t in tensors)
        state = sum(v.numel() * v.element_size() for s in opt.state.values() for v in s.values()
                    if torch.is_tensor(v) and v.dim() > 0)
        out[label] = {"median_ms": statistics.median(times) * 1e3, "state_bytes_per_param": state / numel,
                      "params": numel}
    return out


# -- the command ---------------------------------------------------------------------------------

def settle(candidate: Candidate, benchmarks: list[str], root: Path = Path("."), dry_run: bool = False,
           slurm_config=None, theory_scale: str = "small", train: bool = True) -> dict | None:
    """The whole settle run (module docstring); the page's summary, or None for a dry run."""
    candidate_data.check(candidate)
    check_choices("benchmarks", benchmarks, None)  # a repeat; a bad name is family_of's line below
    for benchmark in benchmarks:
        if benchmark != "theory":
            family_of(benchmark)  # a bad name is one line before anything runs
    plan = estimate(root, benchmarks, candidate)
    print_estimate(plan, candidate)
    if dry_run:
        return None
    page = {"candidate": {"name": candidate.name, "optimizer": candidate.optimizer,
                          "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in candidate.settings().items()},
                          "lr_grid": list(candidate.lr_grid)},
            "command": _command(candidate, benchmarks), "estimate": plan, "benchmarks": {}, "verdicts": [],
            "versions": provenance.versions(("torch",)), "machine": provenance.machine()}
    targets = {}
    for benchmark in benchmarks:
        if benchmark == "theory":
            from . import theory  # noqa: PLC0415

            before = _cpu_seconds()
            result = theory.run(candidate.optimizer, candidate.settings(), theory_scale)
            page["theory"] = {**result["numbers"], "cpu_hours": (_cpu_seconds() - before) / 3600}
            page["verdicts"] += [{**v, "claim": f"theory: {v['claim']}"} for v in result["verdicts"]]
            continue
        family = family_of(benchmark)
        module = _with_candidate(family, candidate)
        summary = _run(family, module, benchmark, root, candidate.name, slurm_config, train)
        page["benchmarks"][benchmark] = _entry(family, benchmark, summary, candidate.name, root)
        page["verdicts"] += compare(family, benchmark, summary, candidate.name)
        if family in ("nmt", "vision"):
            names = [candidate.name, *_builtin_tuned(family, summary, module)]
            targets[benchmark] = {n: steps_to_target(family, summary, n) for n in names}
    page["steps_to_target"] = {b: {n: (None if math.isinf(v) else v) for n, v in t.items()} for b, t in targets.items()}
    page["profile"] = profile(targets)
    page["speed"] = step_speed(candidate.optimizer, candidate.settings())
    write_page(page, root / "results" / "settle" / candidate.name)
    return page


def _run(family, module, benchmark, root, name, slurm_config, train: bool = True, plan: bool = False) -> dict:
    """The benchmark's protocol for the candidate alone (the baselines' rows are only read), and then the
    runs Stein's design asks for in the candidate's comparisons (its own seeds and, paired, the baseline's);
    ``plan``: only the benchmark's plan of the runs it needs now (in the summary's "plan")."""
    bench = module.BENCHMARKS[benchmark]
    # a benchmark with no checked-in rows at all (a test twin, a new root): tuned Adam runs beside the
    # candidate, as the baseline it is compared with (the suite's best is then Adam)
    baseline = [] if any((_results(root, family, benchmark) / "runs").glob("*.json")) else ["adam"]
    names = [*bench.optimizers, name] if family == "gan" else [*baseline, name]
    extra = {"train_only": {name, *baseline}} if family == "gan" else {}

    def read() -> dict:  # the rows as they stand now, another settle copy's included; nothing trained
        return module.run_benchmark(benchmark, root, names, False, pages=False, **extra)

    summary = module.run_benchmark(benchmark, root, names, train, slurm_config=slurm_config, pages=False,
                                   plan=plan, **extra)
    if not train:
        return summary
    job = {"nmt": lambda i: module.slurm_job(benchmark, str(root), i),
           "vision": lambda i: module.slurm_job(benchmark, str(root), None, i),
           "gan": lambda i: module.slurm_job(benchmark, str(root), i)}[family]
    metric = FAMILIES[family].metric
    # Stein's seeds, as a benchmark's sweep makes its runs: one nobody else holds, else wait for the
    # other copy's; the summary returned is read again at the end, so a copy that waited for another's
    # rows never answers with the rows it saw before they landed
    sweeps.run(f"settle {benchmark}", lambda: claims.to_run(compare(family, benchmark, read(), name)),
               lambda m: job((9, m[0], m[1], m[2]) if family == "gan" else (9, m[0], "full", m[1], m[2])),
               lambda m: f"{m[0]} lr {m[1]:g} seed {m[2]} (Stein's design)",
               lambda row: f"{metric} {row.get(metric)}", lambda trained: None, POLL_S)
    return read()


def _entry(family: str, benchmark: str, summary: dict, name: str, root: Path) -> dict:
    """What the page shows of one benchmark: the candidate's choice and result, and the baseline rows used."""
    rows = _tuned_rows(family, summary, name)
    metric = FAMILIES[family].metric
    tuning = summary.get("tuning", {}).get(name, {})
    baseline_rows = [json.loads(p.read_text()) for p in sorted((_results(root, family, benchmark) / "runs").glob("*.json"))]
    return {"chosen_lr": tuning.get("chosen"), "tuning_note": tuning.get("note"), "seeds": [r["seed"] for r in rows],
            metric: [r[metric] for r in rows], "baseline_rows": len(baseline_rows),
            "baseline_machines": provenance.machines_of(baseline_rows), "baseline_code": provenance.code_of(baseline_rows),
            "baseline_versions": summary.get("versions"), "cpu_hours": sum(
                r.get("wall_s", r.get("train_seconds", 0.0)) for r in _all_candidate_rows(root, family, benchmark, name))
            / 3600}


def _all_candidate_rows(root: Path, family: str, benchmark: str, name: str) -> list:
    folder = _results(root, family, benchmark) / "candidates" / name
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []


def _cpu_seconds() -> float:
    """CPU seconds of this process and the children it has waited for (all their threads)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _command(candidate: Candidate, benchmarks: list[str]) -> str:
    words = ["optim-suite", "settle", "--optimizer", candidate.optimizer, "--name", candidate.name,
             "--lr-grid", *(f"{v:g}" for v in candidate.lr_grid)]
    for key, value in candidate.settings().items():
        words += ["--set", f"{key}={','.join(map(str, value)) if isinstance(value, tuple) else value}"]
    return " ".join([*words, "--benchmarks", *benchmarks])


def write_page(page: dict, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "summary.json", json.dumps(page, indent=1, allow_nan=False, default=str))
    document(page).write(folder / "results.md")
    plot_profile(page, folder / "profile.png")


def document(page: dict) -> Document:
    c = page["candidate"]
    doc = Document().heading(f"Settle: `{c['name']}` ({c['optimizer']})").text(
        f"Settings: {c['settings'] or 'the class defaults'}; lr grid {', '.join(f'{v:g}' for v in c['lr_grid'])}. "
        f"Command: `{page['command']}`. Each benchmark's own tuning protocol and seeds; the baselines are the "
        f"benchmark's checked-in rows (suite_results.claims decides every verdict below).")
    if page["benchmarks"]:
        doc.heading("Per benchmark", 2).table(
            ["benchmark", "chosen lr", "seeds", "result per seed", "the candidate's CPU hours",
             "baseline rows used (machines; versions; code of the runs)"],
            [[b, "-" if e["chosen_lr"] is None else f"{e['chosen_lr']:g}", len(e["seeds"]),
              ", ".join(f"{v:.4g}" for v in next(v for k, v in e.items() if k in ("bleu", "test_accuracy",
                                                                                  "final_smoothed_loss"))),
              f"{e['cpu_hours']:.2f}", f"{e['baseline_rows']} ({e['baseline_machines']}; "
              f"{', '.join(f'{k} {v}' for k, v in (e.get('baseline_versions') or {}).items())}; "
              f"{e.get('baseline_code', 'not recorded')})"]
             for b, e in page["benchmarks"].items()])
    claims.verdict_section(doc, page["verdicts"])
    if "theory" in page:
        cc = page["theory"]["critical_c"]
        mine, adam = cc.get("candidate", {}).get("mean_theta"), cc.get("adam", {}).get("mean_theta")
        same = bool(mine) and mine.keys() == (adam or {}).keys() and all(
            math.isclose(mine[C], adam[C], rel_tol=1e-9, abs_tol=1e-12) for C in mine)
        doc.heading("The non-convergence map", 2).text(
            "The stochastic problem over the rare gradient's size C (lr 1e-3, beta1 0, beta2 0.999 where the class "
            "takes betas): the smallest C at which the mean final theta goes the wrong way (none: it never does on "
            "the grid)." + (" The candidate's numbers are Adam's (to 1e-9, the rest is rounding): on these gradients "
                            "and at these betas its update is Adam's (NAdam's, for one, reduces to it when beta1 = 0)."
                            if same else "")).table(["optimizer", "critical C", "mean final theta per C"],
                                [[k, "none on the grid" if v["critical_c"] is None else f"{v['critical_c']:g}",
                                  ", ".join(f"{C}: {t:+.3g}" for C, t in v["mean_theta"].items())]
                                 for k, v in cc.items()])
    if page.get("speed"):
        s = page["speed"]
        doc.heading("Step time and state", 2).text(
            f"One optimizer step on {s['candidate']['params'] / 1e6:.1f}M float32 parameters, this machine, "
            f"median of 15{_timing_conditions(s)}: {s['ratio_to_fused_adam']:.2f}x torch's fused Adam."
            f"{_timing_caveat(s, page['command'])}").table(
            ["optimizer", "ms per step", "state bytes per parameter"],
            [[k, f"{v['median_ms']:.2f}", f"{v['state_bytes_per_param']:.1f}"] for k, v in s.items() if isinstance(v, dict)])
    if page.get("profile"):
        taus = list(next(iter(page["profile"].values())))
        doc.heading("Performance profile (AlgoPerf style)", 2).text(
            "Steps to each benchmark's target (updates to the validation-loss target for translation, epochs to the "
            "validation-accuracy target for images; the critic has no target), ratio to the best candidate on that "
            "benchmark (a miss is infinite); the fraction of benchmarks within tau of the best.").table(
            ["candidate", *[f"tau {t}" for t in taus]],
            [[n, *[f"{v[t]:.2f}" for t in taus]] for n, v in page["profile"].items()])
    return doc


def _timing_conditions(speed: dict) -> str:
    """The threads and cores of a timing (absent from pages written before they were recorded)."""
    if speed.get("threads") is None:
        return ""
    return f", {speed['threads']} thread{'s' if speed['threads'] != 1 else ''} on {speed['cores']} cores"


def _timing_caveat(speed: dict, command: str) -> str:
    """What the page must say when other work ran beside the timing (a sweep: slower and noisier)."""
    if "threads" not in speed:  # a page written before the load was recorded
        return " Whether other work ran beside it was not recorded."
    note = provenance.load_note(speed.get("others_busy_cores"), speed["cores"],
                                f"`bash scripts/with_sweeps_paused.sh {command} --no-train` times them again with "
                                "this machine's sweeps paused, and rewrites this page from the rows, training nothing")
    return f" {note[0].upper()}{note[1:]}."


def plot_profile(page: dict, path: Path) -> None:
    if not page.get("profile"):
        return
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(6, 3.8))
    for name, values in page["profile"].items():
        taus = [float(t) for t in values]
        ax.step(taus, list(values.values()), where="post", label=name, lw=2.2 if name == page["candidate"]["name"] else 1)
    ax.set(xlabel="tau (steps to target / the best's)", ylabel="fraction of benchmarks", ylim=(-0.02, 1.02),
           title=f"performance profile: {page['candidate']['name']}")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=110)
    plt.close(fig)
