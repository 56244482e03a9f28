"""Named translation benchmarks with a fair protocol: ``python -m nmt benchmark --benchmark bible-cpu``.

A benchmark fixes data, model, schedule, budgets and evaluation; every tuned optimizer gets the same
tuning budget (in the style of DeepOBS and AlgoPerf), through the suite's one tuning protocol
(``suite_results.tuning``): 1. a log-spaced lr grid at ``grid_updates`` updates on seed ``grid_seed``,
extended past its edge until the best value is interior (a diverged run counts as worse); 2. the two
best lrs of the grid promoted to the full ``full_updates`` budget on the grid seed, the lr chosen by
the full-budget validation loss; 3. the chosen lr on every seed of ``seeds``. Each full run is scored
with sacrebleu BLEU and chrF on *all* test sentences (beam 4; the GPU LSTM twin: 10); its updates and wall seconds to reach
``target_valid_loss`` are read from its validation curve (time-to-target). Untuned candidates (the
authors' own settings, fairseq's built-in adam as a sanity row) run their fixed lr on every seed.
The sweep trains every grid first, then the full runs seed by seed (every candidate's seed 1
first), so a sweep cut short still compares every candidate on the same seeds.

The same warmup schedule (inverse_sqrt, linear warmup from 1e-7) and gradient clipping hold for
every candidate.

Every run directory is keyed on its full configuration (``suite_results.rundir``), so a changed
benchmark definition never reuses a run. Each finished run also lands as a small JSON row under
``results/nmt/<benchmark>/runs/`` (committed with the results): a later invocation, on any machine,
reuses those rows instead of training again, so the sweep resumes across sessions; an interrupted
run resumes from its fairseq checkpoint. A run directory has one writer (``suite_results.locks``):
two sweeps on one root share the rows, each training the next row nobody holds. ``summary.json``,
``results.md`` and ``valid_loss.png`` are rewritten from all rows after every run, so partial
results are always readable.

Our optimizers also run with ``--optimizer-diagnostics 10`` (an observation, not part of a run's
configuration): each row keeps the mean of the decorrelation probe's statistics over the second
half of the run, and the summary reports them per optimizer.
"""

from __future__ import annotations

import functools
import json
import math
import re
import statistics
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from suite_results import candidates as candidate_data
from suite_results import claims, provenance, resultsdir, rundir, sweeps
from suite_results.candidates import Candidate
from suite_results.cli import portable_path
from suite_results import tensorboard as tb
from suite_results import walk as protocol_walk
from suite_results.walk import State
from suite_results.files import atomic_savefig
from suite_results.rows import read_row, write_row
from suite_results.scalars import read_scalars
from suite_results.claims import Design, Margin
from suite_results.stats import INTERVAL, format_spread, spread
from suite_results.tables import Document
from suite_results.tuning import INTERIOR_RULE, Outcome, Protocol

from .experiment import evaluate, fairseq_train, validation_curve
from .prepare import prepare

TRANSFORMER_SMALL = ["--arch", "transformer", "--encoder-layers", "3", "--decoder-layers", "3",
                     "--encoder-embed-dim", "256", "--decoder-embed-dim", "256",
                     "--encoder-ffn-embed-dim", "512", "--decoder-ffn-embed-dim", "512",
                     "--encoder-attention-heads", "4", "--decoder-attention-heads", "4",
                     "--share-all-embeddings", "--dropout", "0.1"]

# our optimizers' fairseq names (optim_plugins.fairseq_plugin); fairseq's own are "fairseq:NAME" in the data
FAIRSEQ_NAMES = {"adam": "plugin_adam"}


def flags_of(candidate: Candidate) -> list[str]:
    """A candidate's fairseq flags (without --lr), always in one order: the flags are part of every
    run's key. An optimizer from outside this library runs through the generic ``--optimizer torch``."""
    settings = candidate.settings()
    if candidate.optimizer.startswith("fairseq:"):
        flags = ["--optimizer", candidate.optimizer.split(":", 1)[1]]
    elif candidate.external:
        flags = ["--optimizer", "torch", "--optimizer-class", candidate.class_path]
        others = {k: v for k, v in sorted(settings.items()) if k != "betas"}
        if others:
            flags += ["--optimizer-kwargs", json.dumps(others, sort_keys=True)]
    else:
        flags = ["--optimizer", FAIRSEQ_NAMES.get(candidate.optimizer, candidate.optimizer)]
    if "betas" in settings:
        flags += ["--adam-betas", f"({settings['betas'][0]}, {settings['betas'][1]})"]
    if not candidate.external:
        for key, flag in (("keep_num", "--keep-num"), ("reduce", "--reduce"), ("momentum", "--momentum")):
            if key in settings:
                flags += [flag, str(settings[key])]
    return flags


# the candidates (suite_results/candidates.toml, section nmt): name -> (fairseq flags without --lr, the lr
# grid the protocol starts from); untuned candidates have no grid and a fixed lr in FIXED_LR
NMT_CANDIDATES = candidate_data.builtin("nmt")
CANDIDATES = {name: (flags_of(c), list(c.lr_grid)) for name, c in NMT_CANDIDATES.items()}
# untuned candidates: their lr. fairseq's built-in adam is the sanity row beside plugin_adam at the
# lr plugin_adam's first grid chose (3e-3), where both have every seed.
FIXED_LR = {name: c.fixed_lr for name, c in NMT_CANDIDATES.items() if c.fixed_lr is not None}
# a candidate whose runs are another's (the same flags): its rows are that candidate's rows at its lr
SAME_RUNS = {name: c.runs_as for name, c in NMT_CANDIDATES.items() if c.runs_as}
USER = set()  # candidates added at run time (optim-suite settle): their rows live under results/.../candidates/


def add_candidate(candidate: Candidate) -> None:
    """A user's candidate (``optim-suite settle``), for this process: its flags, grid or fixed lr."""
    if candidate.name in NMT_CANDIDATES:
        raise ValueError(f"candidate name {candidate.name!r} is a built-in candidate's; choose another with --name")
    CANDIDATES[candidate.name] = (flags_of(candidate), list(candidate.lr_grid))
    if candidate.fixed_lr is not None:
        FIXED_LR[candidate.name] = candidate.fixed_lr
    USER.add(candidate.name)


# the default candidates a benchmark was defined with, fixed: a benchmark's definition is part of
# every run's key, so adding a candidate must not change it. Candidates added later are in
# ADDED_CANDIDATES, outside the definition, and run by default too.
PROTOCOL = ("adam", "amsgrad", "adamal", "adopt", "adashift-paper", "adashift-transformer", "sgd", "fairseq-adam")
ADDED_CANDIDATES = {"bible-cpu": ("adashift-elementwise", "adam-authors", "amsgrad-authors", "adashift-authors"),
                    "bible-gpu": ("adashift-elementwise", "adam-authors", "amsgrad-authors", "adashift-authors")}
PROBED = {"adam", "amsgrad", "adamal", "adopt", "adashift-paper", "adashift-transformer",  # our adapters
          "adashift-elementwise", "adam-authors", "amsgrad-authors", "adashift-authors"}
DIAGNOSTICS = ["--optimizer-diagnostics", "10"]  # observation only: not part of a run's configuration
ADASHIFT = ("adashift-paper", "adashift-transformer", "adashift-elementwise")  # the tuned AdaShift variants
PER_TENSOR = ("adashift-paper", "adashift-transformer")  # phi = max: the step-scale analysis explains these


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
    # Fields added after the first benchmarks' rows were made. A run's key holds definition(),
    # which leaves these out while they are at their default, so no existing key changes.
    # halving: (start, every, factor): lr constant for `start` updates, then multiplied by `factor`
    # every `every` updates (the AdaShift authors' tf/nmt schedule); () = inverse_sqrt with warmup
    halving: tuple = ()
    label_smoothing: float = 0.1  # 0: plain cross entropy
    beam: int = 4

    def definition(self) -> dict:
        """The benchmark's definition as it enters every run's key (see the fields' comment)."""
        defaults = {f.name: f.default for f in fields(self) if f.name in LATER_FIELDS}
        return {k: v for k, v in asdict(self).items() if k not in defaults or v != defaults[k]}

    def flags(self, candidate: str, lr: float, seed: int, updates: int) -> list[str]:
        if self.halving:
            # fairseq's `step` scheduler with a "warmup" from lr to lr: constant, then halving
            start, every, factor = self.halving
            schedule = ["--lr-scheduler", "step", "--warmup-updates", str(start), "--warmup-init-lr", repr(lr),
                        "--lr-deacy-period", str(every), "--lr-decay", repr(factor)]
        else:
            schedule = ["--lr-scheduler", "inverse_sqrt", "--warmup-updates", str(self.warmup_updates),
                        "--warmup-init-lr", "1e-07"]
        criterion = (["--criterion", "label_smoothed_cross_entropy", "--label-smoothing", str(self.label_smoothing)]
                     if self.label_smoothing else ["--criterion", "cross_entropy"])
        return [*self.model, *CANDIDATES[candidate][0], "--lr", repr(lr), *schedule,
                "--clip-norm", str(self.clip_norm), *criterion, "--max-tokens", str(self.max_tokens),
                "--max-update", str(updates), "--seed", str(seed), "--validate-interval-updates",
                str(self.validate_every), "--save-interval-updates", str(self.validate_every)]


LATER_FIELDS = ("halving", "label_smoothing", "beam")
# the AdaShift authors' architecture class (tensorflow/nmt): bidirectional 2+2 LSTM with attention,
# dropout 0.2, no shared embeddings; fairseq's attention is Luong's "general" score (not scaled)
def lstm(units: int) -> list[str]:
    return ["--arch", "lstm", "--encoder-bidirectional", "--encoder-layers", "2", "--decoder-layers", "2",
            "--encoder-embed-dim", str(units), "--decoder-embed-dim", str(units), "--encoder-hidden-size", str(units),
            "--decoder-hidden-size", str(units), "--decoder-out-embed-dim", str(units),
            "--decoder-attention", "True", "--dropout", "0.2"]


# the authors' candidates, and the first author's Transformer advice with phi = identity
LSTM_CANDIDATES = ("adashift-authors", "adam-authors", "amsgrad-authors", "adam", "amsgrad", "adashift-paper",
                   "adashift-elementwise")


BENCHMARKS = {
    # measured here: fairseq adam 1e-3 reaches BLEU 26.9 in 1500 updates (25 min on 2 cores)
    "bible-cpu": Benchmark(corpus="bible-en-es", valid=500, test=1000, vocab_size=8000, model=TRANSFORMER_SMALL,
                           full_updates=1500, grid_updates=300, target_valid_loss=6.0),
    # the GPU-scale twin: transformer-base, 30k updates (not run on this CPU)
    "bible-gpu": Benchmark(corpus="bible-en-es", valid=500, test=1000, vocab_size=8000,
                           model=["--arch", "transformer", "--share-all-embeddings", "--dropout", "0.3"],
                           full_updates=30_000, grid_updates=3_000, target_valid_loss=4.5, warmup_updates=4000,
                           validate_every=1000),
    # the authors' architecture class at 256 units (measured here: 0.84-0.95 updates/s with 2 threads);
    # their schedule's shape on 1500 updates: constant, then halved every 1/30 of training (theirs:
    # 30k steps, halved every 1,000 from 8,000), the halving from 2/3 of training instead of their 8/30:
    # measured (2026-12-04, Adam lr 1e-3) with the halving from 400, the valid loss stopped at 6.54 by
    # update 600 (lr 1/8 of its start; 7.03 at 400): the budget could not hold their fraction (docs/nmt.md);
    # their clip-norm 5 and no label smoothing; --max-tokens 4096, about their 128 sentences
    "bible-lstm-cpu": Benchmark(corpus="bible-en-es", valid=500, test=1000, vocab_size=8000, model=lstm(256),
                                full_updates=1500, grid_updates=300, target_valid_loss=6.0, clip_norm=5.0,
                                halving=(1000, 50, 0.5), label_smoothing=0.0, candidates=LSTM_CANDIDATES),
    # the GPU twin at the authors' size: 512 units, 30k updates, halved every 1,000 from 8,000, beam 10
    "bible-lstm-gpu": Benchmark(corpus="bible-en-es", valid=500, test=1000, vocab_size=8000, model=lstm(512),
                                full_updates=30_000, grid_updates=3_000, target_valid_loss=4.5, clip_norm=5.0,
                                validate_every=1000, halving=(8000, 1000, 0.5), label_smoothing=0.0, beam=10,
                                candidates=LSTM_CANDIDATES),
    # seconds, for the tests: the protocol end to end on a sliver of the corpus
    "bible-tiny": Benchmark(corpus="bible-en-es", valid=20, test=23, vocab_size=300, max_train=300,
                            model=["--arch", "transformer", "--encoder-layers", "1", "--decoder-layers", "1",
                                   "--encoder-embed-dim", "32", "--decoder-embed-dim", "32",
                                   "--encoder-ffn-embed-dim", "64", "--decoder-ffn-embed-dim", "64",
                                   "--encoder-attention-heads", "2", "--decoder-attention-heads", "2",
                                   "--share-all-embeddings"],
                            full_updates=8, grid_updates=4, target_valid_loss=12.0, seeds=(1, 2), max_tokens=512,
                            warmup_updates=2, validate_every=2),
    # the LSTM definition in seconds, for the tests
    "bible-lstm-tiny": Benchmark(corpus="bible-en-es", valid=20, test=23, vocab_size=300, max_train=300,
                                 model=lstm(16), full_updates=8, grid_updates=4, target_valid_loss=12.0, seeds=(1, 2),
                                 max_tokens=512, validate_every=2, clip_norm=5.0, halving=(3, 2, 0.5),
                                 label_smoothing=0.0, candidates=("adam-authors", "adam", "adashift-paper")),
}
# the tuning protocol per benchmark (outside the definition: it decides which runs are made, not
# what a run computes); the tiny test benchmark caps its grids to keep the tests short
PROTOCOLS = {"bible-tiny": Protocol(promote=2, max_values=4), "bible-lstm-tiny": Protocol(promote=2, max_values=4)}


def default_candidates(name: str) -> list[str]:
    return [*BENCHMARKS[name].candidates, *ADDED_CANDIDATES.get(name, ())]


def _row_path(results: Path, row_config: dict) -> Path:
    """A built-in candidate's row in runs/; a user's in candidates/<name>/ (the benchmark's pages read runs/)."""
    c = row_config
    folder = results / "candidates" / c["candidate"] if c["candidate"] in USER else results / "runs"
    return folder / f"{c['candidate']}-{c['phase']}-lr{c['lr']:g}-s{c['seed']}-{rundir.config_key(c)}.json"


def row_config(bench: Benchmark, name: str, candidate: str, phase: str, lr: float, seed: int) -> dict:
    """What decides a run: its key (runs of SAME_RUNS candidates are keyed as the candidate they share)."""
    candidate = SAME_RUNS.get(candidate, candidate)
    updates = bench.full_updates if phase == "full" else bench.grid_updates
    return {"benchmark": name, "definition": bench.definition(), "candidate": candidate, "phase": phase,
            "lr": lr, "seed": seed, "flags": bench.flags(candidate, lr, seed, updates)}


def load_row(path: Path) -> dict:
    """A checked-in row, or a one-line error naming the file and what is wrong with it."""
    return read_row(path, required=("candidate", "phase", "lr", "seed", "best_valid_loss", "valid_curve"),
                    full_required=("bleu", "chrf", "sentences") if "-full-" in Path(path).name else ())


LOCKED = sweeps.LOCKED  # run_row's answer for a row another process is training


def run_row(bench: Benchmark, name: str, data: Path, runs: Path, results: Path, candidate: str, phase: str,
            lr: float, seed: int, train: bool = True):
    """One run of the protocol, or its committed row when one exists for exactly this configuration
    (None for a missing row when ``train`` is False; LOCKED when another process is training it)."""
    config = row_config(bench, name, candidate, phase, lr, seed)
    path = _row_path(results, config)
    run_dir = runs / path.stem
    return sweeps.committed_or_trained(path, run_dir, load_row,
                                       lambda: _train_row(bench, data, run_dir, results, path, config), train)


def _train_row(bench, data, run_dir, results, path, config) -> dict:
    candidate, phase = config["candidate"], config["phase"]
    root = results.parents[2]  # results/nmt/<name>: a row names its paths relative to the root
    trained = fairseq_train(data, run_dir, [*config["flags"], *(DIAGNOSTICS if candidate in PROBED else [])], config,
                            root)
    curve = validation_curve(run_dir, with_time=True)
    reached = next(((u, s) for u, loss, s in curve if loss <= bench.target_valid_loss), (None, None))
    valid_curve = [[u, loss] for u, loss, _ in curve if math.isfinite(loss)]
    finite = [loss for _, loss in valid_curve]
    diverged = bool(trained.get("diverged")) or len(finite) < len(curve)
    row = {"candidate": candidate, "phase": phase, "lr": config["lr"], "seed": config["seed"],
           "updates": bench.full_updates if phase == "full" else bench.grid_updates,
           "best_valid_loss": None if diverged else min(finite, default=None),
           "valid_curve": valid_curve, "updates_to_target": reached[0],
           "seconds_to_target": reached[1], "wall_s": trained["wall_s"], "command": trained["command"],
           "run_dir": portable_path(run_dir, root), "diagnostics": decorrelation(run_dir)}
    if diverged:
        row.update({"diverged": True, "last_finite_valid_loss": finite[-1] if finite else None})
    if phase == "full" and (run_dir / "checkpoints" / "checkpoint_best.pt").exists():
        scores = evaluate(data, run_dir, beam=bench.beam)
        if scores["sentences"] != bench.test:
            raise RuntimeError(f"{run_dir}: scored {scores['sentences']} of {bench.test} test sentences")
        row.update({k: scores[k] for k in ("bleu", "chrf", "sentences", "bleu_signature", "chrf_signature")})
    elif phase == "full":
        row.update({"bleu": 0.0, "chrf": 0.0, "sentences": 0})  # diverged before its first checkpoint
    return write_row(path, row)  # with the machine its wall_s was spent on


def decorrelation(run_dir: Path) -> dict:
    """Means over the second half of a run of the probe's diag_* scalars (optim_plugins.diagnostics)."""
    out = {}
    for tag, events in read_scalars(Path(run_dir) / "tb" / "train_inner", prefix="diag_").items():
        kept = [e.value for e in events if e.step >= events[-1].step / 2]
        out[tag[len("diag_"):]] = sum(kept) / len(kept)
    return out


def outcome(row) -> Outcome | None:
    """A row as the tuning protocol sees it (None: not run yet)."""
    if row is None:
        return None
    if row.get("diverged"):
        return Outcome(None, row.get("last_finite_valid_loss"))
    return Outcome.of(row["best_valid_loss"])


def walk(bench: Benchmark, name: str, candidates: list[str], lookup) -> State:
    """The protocol over ``candidates`` as far as the rows ``lookup(candidate, phase, lr, seed)`` allow
    (``suite_results.walk``: the same for every two-rung benchmark)."""
    return protocol_walk.walk(candidates, {c: CANDIDATES[c][1] for c in candidates}, FIXED_LR, bench.seeds,
                              bench.grid_seed, lookup, outcome, PROTOCOLS.get(name, Protocol()))


def slurm_job(name: str, root: str, item: tuple):
    """One run of the sweep inside a SLURM job (suite_results.slurm): it writes the row, nothing else."""
    sweeps.job_threads()
    bench, root = BENCHMARKS[name], Path(root)
    data = root / "outputs" / "nmt" / f"bench-{name}"
    runs, results = root / "runs" / "nmt" / "bench" / name, root / "results" / "nmt" / name
    return run_row(bench, name, data, runs, results, item[1], item[2], item[3], item[4], train=True)


def run_benchmark(name: str, root: Path = Path("."), candidates: list[str] | None = None,
                  train: bool = True, tune_only: bool = False, poll_s: float = 60.0, slurm_config=None,
                  pages: bool = True, plan: bool = False) -> dict:
    """The whole protocol for ``name``; returns the summary (also written under results/nmt/<name>/).
    Progress is one line per run (a tqdm bar on a terminal); fairseq's per-update log of each run is
    in its run directory's train.log. ``train=False`` trains nothing: it rewrites the results from
    the rows there are (the data's description from the last summary.json, if there is one).
    ``tune_only`` trains the tuning runs only (both rungs; the other full runs already there are
    still reported). Another process training a row this sweep needs: this one trains the other
    rows meanwhile, and waits (``poll_s``) only when nothing else is left. ``plan`` prints the runs the
    sweep would make and their CPU hours, and trains, prepares and writes nothing."""
    bench = BENCHMARKS[name]
    train, pages = train and not plan, pages and not plan
    candidates = list(candidates or default_candidates(name))
    unknown = [c for c in candidates if c not in CANDIDATES]
    if unknown:
        raise ValueError(f"Unknown candidate(s) {unknown}; choose from: {', '.join(CANDIDATES)}")
    data = root / "outputs" / "nmt" / f"bench-{name}"
    runs, results = root / "runs" / "nmt" / "bench" / name, root / "results" / "nmt" / name
    last = results / "summary.json"
    prepared = json.loads(last.read_text())["data"] if not train and last.exists() else {} if plan else prepare(
        bench.corpus, data, bench.valid, bench.test, bench.max_train, bench.vocab_size, seed=1)
    # the results show every candidate with rows, trained now or not (--candidates chooses what
    # trains, never what the summary keeps)
    shown = list(dict.fromkeys([*default_candidates(name), *candidates, *CANDIDATES]))

    def known(c, phase, lr, seed):
        return run_row(bench, name, data, runs, results, c, phase, lr, seed, train=False)

    def read():
        return walk(bench, name, shown, known)

    def page(state):
        return write_results(name, bench, prepared, state, results, known, pages)

    lock = runs / "pages" if pages else None  # sweeps.refresh
    state, summary = sweeps.refresh(lock, read, page)

    def protocol():  # each candidate's needs depend on its own rows only: the shown state serves
        return [n for n in state.needed if n[1] in candidates and (
            not tune_only or n[2] == "tune" or (n[1] in state.tunings and n[4] == bench.grid_seed
                                                and not state.tunings[n[1]].complete))]

    def design():  # the seeds Stein's design asks for (suite_results.claims), once the protocol has none left
        return [] if tune_only else [(9, c, "full", lr, seed) for c, lr, seed in claims.to_run(summary["verdicts"])
                                     if c in candidates]

    def label(n):
        return f"{n[1]} {n[2]} lr {n[3]:g} seed {n[4]}"

    def result(row):
        done = f"BLEU {row['bleu']} chrF {row['chrf']}" if "bleu" in row else f"best valid loss {row['best_valid_loss']}"
        return f"{done}{' (diverged)' if row.get('diverged') else ''} ({row['wall_s']:.0f} s)"

    def after(trained_one):
        nonlocal state, summary
        state, summary = sweeps.refresh(lock, read, page) if trained_one else (read(), summary)

    if plan:
        summary["plan"] = sweeps.plan(f"nmt benchmark {name}", protocol(), design(), label, results / "runs",
                                      lambda n: (n[1], n[2]))
    if train:
        sweeps.drive(f"nmt benchmark {name}", lambda: protocol() or design(),
                     lambda n: run_row(bench, name, data, runs, results, n[1], n[2], n[3], n[4], train=True),
                     label, result, after, poll_s, slurm_config,
                     functools.partial(slurm_job, name, str(root)), runs / "slurm")
    return summary


STEP_SCALE_WHY = ("per-tensor max makes the steps 9-11x smaller than an elementwise v at the same lr "
                  "(530-550x on the shared embedding): results/nmt/bible-cpu/step_scale_*.md")


# the LSTM benchmarks' Transformer counterparts, for the cross-architecture line
TRANSFORMER_OF = {"bible-lstm-cpu": "bible-cpu", "bible-lstm-gpu": "bible-gpu", "bible-lstm-tiny": "bible-tiny"}


def step_scale_why(name: str, results: Path) -> str:
    """The evidence for a failed AdaShift claim: this benchmark's own step-scale analysis, where it exists."""
    own = sorted(p.name for p in results.glob("step_scale_*.md")) if results.is_dir() else []
    if name == "bible-cpu" or not own and name not in TRANSFORMER_OF:
        return STEP_SCALE_WHY
    if own:
        return f"the step-scale analysis of this model: {', '.join(f'results/nmt/{name}/{o}' for o in own)}"
    return ("the step-scale analysis of this model is still to run (python -m nmt step-scale on its checkpoints); "
            f"on the Transformer, {STEP_SCALE_WHY}")


def _claim_key(text: str) -> str:
    return re.sub(r" \(best: [^)]*\)", "", text)


def _verdict_head(verdict: str) -> str:
    """The verdict word of a summary written before verdicts lost their details ("not reproduced
    (amsgrad beats adam)" -> "not reproduced")."""
    return verdict.split(" (", 1)[0]


def cross_architecture(own: list[dict], transformer: list[dict] | None, other: str, why: str = "") -> dict:
    """"The Transformer benchmark's verdicts hold on this architecture", claim by claim (the sanity
    row aside): a claim settled on both models (reproduced or not reproduced) is the same or changed;
    one inconclusive on either model is unsettled; pending while either side is. The line is not
    reproduced when any claim changed, inconclusive when none changed but some are unsettled,
    reproduced when all are the same. A changed line's why quotes each changed claim's reason on both
    models, then ``why``."""
    text = f"cross-architecture: the Transformer's verdicts ({other}) hold on this model"
    rule = ("each claim settled on both models compared; changed on any: not reproduced; any inconclusive "
            "on either model: inconclusive")
    if transformer is None:
        return {"claim": text, "verdict": "pending", "detail": "", "measured": f"no results/nmt/{other}/summary.json",
                "why": "", "rule": "", "n": []}
    theirs = {_claim_key(v["claim"]): v for v in transformer}
    pairs = [(_claim_key(v["claim"]), theirs[_claim_key(v["claim"])], v) for v in own
             if not v["claim"].startswith(("sanity", "cross")) and _claim_key(v["claim"]) in theirs]

    def status(a, b):
        a, b = _verdict_head(a), _verdict_head(b)
        if "pending" in (a, b):
            return "pending"
        if "inconclusive" in (a, b):
            return "unsettled"
        return "same" if a == b else "changed"

    statuses = [status(t["verdict"], o["verdict"]) for _, t, o in pairs]
    parts = [f"{label}: {s} (Transformer {t['verdict']}{_detail(t)}; this model {o['verdict']}{_detail(o)})"
             for (label, t, o), s in zip(pairs, statuses)]
    changed = statuses.count("changed")
    if not pairs or "pending" in statuses:
        verdict, detail = "pending", ""
    elif changed:
        verdict, detail = "not reproduced", f"{changed} of {len(pairs)} claims changed"
    elif "unsettled" in statuses:
        verdict, detail = "inconclusive", f"{statuses.count('unsettled')} of {len(pairs)} claims unsettled on a model"
    else:
        verdict, detail = "reproduced", f"all {len(pairs)} claims the same"
    reasons = [f"{label.split(':')[0]}: this model: {o['why'] or '-'}; the Transformer: {t['why'] or '-'}"
               for (label, t, o), s in zip(pairs, statuses) if s == "changed"]
    return {"claim": text, "verdict": verdict, "detail": detail, "measured": "; ".join(parts) or "no common claims",
            "why": ". ".join(p[:1].upper() + p[1:] for p in reasons + ([why] if why else []))
            if verdict == "not reproduced" else "",
            "rule": rule, "n": [], "comparisons": [{"alpha": claims.ALPHA}]}


def _detail(v: dict) -> str:
    return f" ({v['detail']})" if v.get("detail") else ""


def _optimisation_why(best: str, by: dict, variants: list) -> str:
    """Why an elementwise AdaShift trails Adam: the step-scale argument (per-tensor max) does not apply
    to it, so the evidence is its full-budget validation loss beside Adam's, and what differs."""
    def loss(c):
        losses = [r["best_valid_loss"] for r in by[c]["runs"] if "best_valid_loss" in r]
        return spread(losses)["mean"] if losses else math.nan

    others = ", ".join(f"{c} {by[c]['bleu']['mean']:.2f}" for c in variants if c != best and c in by)
    return (f"{best} has an elementwise v (the per-tensor step-scale argument does not apply) and still optimises "
            f"slower: mean best validation loss {loss(best):.3f} against adam's {loss('adam'):.3f} at their chosen "
            f"lrs; it differs from adam in beta1 0 (no momentum) and the delayed v, which this benchmark does not "
            f"separate. The per-tensor variants end lower still (BLEU {others})")


def _authors_why(by: dict, why: str) -> str:
    """Why AdaShift loses at the authors' settings: each authors' run's validation loss, its best and
    its last (a rise after the best: the lr is too large for this model), then the step-scale evidence."""
    def curve(c):
        runs = [r["valid_curve"] for r in by.get(c, {}).get("runs", []) if r.get("valid_curve")]
        if not runs:
            return None
        best = spread([min(loss for _, loss in r) for r in runs])["mean"]
        last = spread([r[-1][1] for r in runs])["mean"]
        at = statistics.median_high(min(r, key=lambda p: p[1])[0] for r in runs)
        return best, last, at, len(runs)

    parts = []
    for c in ("adashift-authors", "adam-authors", "amsgrad-authors"):
        if (found := curve(c)) is not None:
            best, last, at, n = found
            shape = ("at the end (still falling)" if last - best < 0.05 else f"at update {at}, {last:.2f} at "
                     "the end" + (" (rising: unstable at this lr)" if last - best > 0.5 else ""))
            parts.append(f"{c} ({n} seed{'s' * (n > 1)}): best validation loss {best:.2f} {shape}")
    if not parts:
        return why
    return "; ".join(parts) + (f". Step scale: {why}" if why else "")


MARGIN = Margin(0.5, "BLEU", "half a BLEU point: under what a BLEU table is read as a difference; the "
                "sanity row's tolerance")


def verdicts(summary: dict, sanity_rows: tuple = (), why: str = STEP_SCALE_WHY) -> list[dict]:
    """The claims in four groups (the paper's comparison at the authors' settings; the practical
    claim, best tuned AdaShift vs tuned Adam; the reproduction's "AMSGrad below Adam", at the
    authors' settings and tuned; the sanity row), each from per-seed differences with the suite's
    three outcomes (suite_results.claims, margin :data:`MARGIN`); ``why``: the evidence quoted when an
    AdaShift claim fails."""
    by, seeds = summary["optimizers"], tuple(summary["definition"]["seeds"])

    def runs(c):
        return by.get(c, {}).get("runs", [])

    out = [claims.claim("(a) the paper's comparison: AdaShift beats Adam and AMSGrad at the authors' settings "
                        "(adashift-authors vs adam-authors, amsgrad-authors; untuned)",
                        [claims.beats("adashift-authors", runs("adashift-authors"), b, runs(b), "bleu", seeds, MARGIN)
                         for b in ("adam-authors", "amsgrad-authors")], why=_authors_why(by, why))]
    if out[0]["verdict"] == "reproduced" and (curves := _authors_why(by, "")):
        # a win among untuned runs holds at this budget only: say how each one's validation loss went
        out[0]["why"] = f"caveat, untuned at this budget: {curves}"
    def done(c):
        return by.get(c, {}).get("tuned_complete", False)

    variants = [c for c in ADASHIFT if c in summary.get("candidates", ADASHIFT)]  # this benchmark's
    tuned = [c for c in variants if done(c)]
    pending = [c for c in (*variants, "adam") if not done(c)]
    best = max(tuned, key=lambda c: by[c]["bleu"]["mean"]) if tuned and not pending else None
    out.append(claims.claim("(b) the practical claim: the best tuned AdaShift variant within 1 BLEU of tuned Adam"
                            + (f" (best: {best})" if best else ""),
                            [claims.within(best, runs(best), "adam", runs("adam"), "bleu", seeds, 1.0, MARGIN)]
                            if best else [claims.pending(f"tuning under way: {', '.join(pending)}")],
                            why=_optimisation_why(best, by, variants) if best and best not in PER_TENSOR else why))
    for where, (ams, adam) in (("at the authors' settings", ("amsgrad-authors", "adam-authors")),
                               ("each tuned", ("amsgrad", "adam"))):
        waiting = [c for c in (ams, adam) if by.get(c, {}).get("tuned") and not done(c)]
        out.append(claims.claim(f"(c) the reproduction's ordering: AMSGrad below Adam ({where})",
                                [claims.pending(f"tuning under way: {', '.join(waiting)}")] if waiting else
                                [claims.beats(adam, runs(adam), ams, runs(ams), "bleu", seeds, MARGIN)]))
    if sanity_rows:
        plugin, builtin = sanity_rows
        out.append(claims.claim(f"sanity: our plugin_adam within 0.5 BLEU of fairseq's built-in adam (both at lr "
                                f"{FIXED_LR['fairseq-adam']:g})",
                                [claims.equivalent("adam", plugin, "fairseq-adam", builtin, "bleu", seeds, 0.5,
                                                   MARGIN)]))
    return out


def write_results(name, bench, prepared, state: State, results: Path, lookup, write: bool = True) -> dict:
    """The summary from the rows; written with the page, plot and TensorBoard export unless ``write`` is False."""
    optimizers = {}
    for candidate, rows in state.full.items():
        if not rows:
            continue
        t = state.tunings.get(candidate)
        entry = {"lr": state.chosen[candidate] if candidate not in state.provisional else state.provisional[candidate],
                 "provisional": candidate in state.provisional, "flags": CANDIDATES[candidate][0], "tuned": t is not None,
                 "tuned_complete": t is not None and t.complete, "seeds": [r["seed"] for r in rows], "runs": rows,
                 "lr_at_grid_edge": t.edge if t else None,
                 "changed_between_rungs": t.changed_between_rungs if t else None}
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
    # every row of the benchmark once (each is read, so a damaged one is named here)
    distinct = {path: load_row(path) for path in sorted((results / "runs").glob("*.json"))}
    summary = {"benchmark": name, "definition": asdict(bench), "candidates": default_candidates(name), "data": prepared, "protocol": __doc__.split("\n\n")[1],
               "tuning_protocol": asdict(PROTOCOLS.get(name, Protocol())),
               "lr_grid": {c: [{"lr": lr, "best_valid_loss": r["best_valid_loss"], "diverged": bool(r.get("diverged"))}
                               for lr, r in sorted(rows.items())] for c, rows in state.grid_rows.items()},
               "promoted": {c: [{"lr": lr, "best_valid_loss": r["best_valid_loss"], "bleu": r.get("bleu"),
                                 "diverged": bool(r.get("diverged"))} for lr, r in sorted(rows.items())]
                            for c, rows in state.promoted_rows.items()},
               "tuning": {c: t.as_dict() for c, t in state.tunings.items()},
               "chosen_lr": dict(state.chosen),  # None until the candidate's tuning is complete
               "optimizers": optimizers, "versions": provenance.versions(("torch", "fairseq-fixed", "sacrebleu", "sentencepiece")),
               "machine": provenance.machine(),  # where this summary was written
               "command": f"python -m nmt benchmark --benchmark {name}",
               "cpu_hours": sum(r["wall_s"] for r in distinct.values()) / 3600,
               "run_machines": provenance.machines_of(distinct.values()),  # where the runs' wall time was spent
               "run_code": provenance.code_of(distinct.values())}  # the code they were made with
    sanity = FIXED_LR["fairseq-adam"]
    plugin = [r for r in (lookup("adam", "full", sanity, s) for s in Design().seed_order(bench.seeds)) if r is not None]
    why = step_scale_why(name, results)
    summary["verdicts"] = verdicts(summary, (plugin, state.full.get("fairseq-adam", []))
                                   if "fairseq-adam" in summary["candidates"] else (), why)
    if name in TRANSFORMER_OF:
        other = results.parent / TRANSFORMER_OF[name] / "summary.json"
        summary["verdicts"].append(cross_architecture(
            summary["verdicts"], json.loads(other.read_text())["verdicts"] if other.exists() else None,
            TRANSFORMER_OF[name], why))
    if not write:
        return summary
    return resultsdir.write(results, summary, document(summary), ("valid_loss.png", plot_curves),
                            [tensorboard_run(row) for row in distinct.values()], list(distinct))


def flag_hparams(flags: list[str]) -> dict:
    """The optimizer settings in a candidate's fairseq flags, for TensorBoard's HParams."""
    values = dict(zip(flags[::2], flags[1::2]))
    out = {"optimizer": values.get("--optimizer"), "keep_num": values.get("--keep-num"),
           "reduce": values.get("--reduce"), "momentum": values.get("--momentum")}
    if "--adam-betas" in values:
        out["beta1"], out["beta2"] = (float(b) for b in values["--adam-betas"].strip("()").split(","))
    for key in ("keep_num", "momentum"):
        out[key] = None if out[key] is None else float(out[key])
    return out


def tensorboard_run(row: dict) -> tb.Run:
    """One row as a TensorBoard run: its validation curve, final metrics and settings."""
    name = tb.run_name(row["candidate"], row["phase"], row["lr"], row["seed"])
    return tb.Run(name, curves={"valid/loss": row["valid_curve"]},
                  hparams={"candidate": row["candidate"], "phase": row["phase"], "lr": row["lr"], "seed": row["seed"],
                           "diverged": bool(row.get("diverged")), **flag_hparams(CANDIDATES[row["candidate"]][0])},
                  metrics={"final/best_valid_loss": row["best_valid_loss"], "final/bleu": row.get("bleu"),
                           "final/chrf": row.get("chrf")})


def _schedule(d: dict) -> str:
    if d.get("halving"):
        start, every, factor = d["halving"]
        return f"lr constant for {start} updates, then x{factor:g} every {every} (the authors' schedule, scaled)"
    return f"inverse_sqrt warmup {d['warmup_updates']}"


def document(summary: dict) -> Document:
    d = summary["definition"]
    doc = Document().heading(f"NMT benchmark `{summary['benchmark']}`").text(
             f"{summary['data']['corpus']} {summary['data']['source']}->{summary['data']['target']}, "
             f"{summary['data']['train_pairs']} training pairs, all {d['test']} test sentences scored (beam {d.get('beam', 4)}); "
             f"{d['full_updates']} updates per run, lr tuned on a {d['grid_updates']}-update grid (seed "
             f"{d['grid_seed']}), {_schedule(d)}, clip-norm {d['clip_norm']}. "
             f"Command: `{summary['command']}`. Wall hours of the runs so far, summed over the rows "
             f"({summary['run_machines']}): {summary['cpu_hours']:.2f}. Code of the runs (suite commit, torch): "
             f"{summary['run_code']}.").text(f"BLEU and chrF: mean ± std [{INTERVAL}] over seeds.")
    rows = []
    for c, e in summary["optimizers"].items():
        target = e["updates_to_target"]
        rows.append([c + (" (provisional: tuning under way)" if e.get("provisional") else ""), f"{e['lr']:g}", len(e["runs"]), format_spread(e["bleu"]), format_spread(e["chrf"]),
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
    claims.verdict_section(doc, summary["verdicts"], MARGIN)
    doc.heading("Tuning (suite_results.tuning)", 2).text(
        f"Rung 1: best validation loss after {d['grid_updates']} updates (seed {d['grid_seed']}); the grid is "
        f"extended past its edge until its best value is interior (a diverged run counts as worse). Rung 2: the "
        f"{summary['tuning_protocol']['promote']} best lrs of the final grid at the full {d['full_updates']} updates "
        f"(seed {d['grid_seed']}). {INTERIOR_RULE} 'changed' flags a candidate whose choice differs from the "
        f"grid's best; 'edge' one "
        f"whose choice is not interior at the full budget (a limit reached).").table(
        ["optimizer", "rung 1: lr: best valid loss", "full budget: lr: best valid loss", "chosen", "note"],
        [[c, ", ".join(_outcome_cell(o) for o in t["grid"]), ", ".join(_outcome_cell(o) for o in t["full"]) or "-",
          (f"{t['chosen']:g}" + (" (changed)" if t["changed_between_rungs"] else "")
           + (f" (edge: {t['at_grid_edge']})" if t["at_grid_edge"] else ""))
          if t["chosen"] is not None else "- (" + ", ".join(f"{p} {lr:g}" for p, lr in t["needed"]) + " to run)",
          t["note"]] for c, t in summary["tuning"].items() if t["grid"]])
    fixed = [c for c in summary["optimizers"] if not summary["optimizers"][c]["tuned"]]
    if fixed:
        doc.text("Untuned: " + ", ".join(f"{c} (lr {summary['optimizers'][c]['lr']:g})" for c in fixed) + ".")
    return doc


def _outcome_cell(o: dict) -> str:
    if o["diverged"]:
        last = o.get("last_finite")
        return f"{o['lr']:g}: diverged" + (f" (last {last:.3f})" if last is not None else "")
    return f"{o['lr']:g}: {o['score']:.3f}"


def plot_curves(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(9.5, 4.6))
    colours = plt.get_cmap("tab20").colors  # one colour per candidate: a benchmark has up to 12 (tab10 repeats)
    for index, (c, e) in enumerate(summary["optimizers"].items()):
        curves = [dict(r["valid_curve"]) for r in e["runs"] if r["valid_curve"]]
        if not curves:
            continue
        steps = sorted(set.intersection(*(set(curve) for curve in curves)))
        values = np.array([[curve[s] for s in steps] for curve in curves])
        mean = values.mean(0)
        colour = colours[(2 * index) % 20 + (index // 10) % 2]
        ax.plot(steps, mean, color=colour, label=f"{c} (lr {e['lr']:g}, {len(curves)} seeds)")
        ax.fill_between(steps, values.min(0), values.max(0), color=colour, alpha=0.2)
    ax.axhline(summary["definition"]["target_valid_loss"], color="grey", lw=0.6, ls="--")
    smoothing = summary["definition"].get("label_smoothing", 0.1)
    ax.set(xlabel="updates", ylabel="validation loss (" + (f"label-smoothed {smoothing:g}, " if smoothing else "")
           + "base 2)", title=f"{summary['benchmark']}: mean over seeds, band = min..max")
    if ax.get_legend_handles_labels()[0]:  # none before the first full run; beside the axes, never on the curves
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=110)
    plt.close(fig)
