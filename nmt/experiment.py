"""One training run through the real fairseq CLI, its BLEU on the test split, and the sweep.

train:    fairseq-train <bin> <architecture> <optimizer flags> --tensorboard-logdir ... (resumes
          from checkpoint_last.pt when re-run, as fairseq does)
evaluate: fairseq-generate on the test split with the best checkpoint, sentencepiece decoding,
          then sacrebleu BLEU and chrF (with their signatures) against the raw references. Every
          test sentence is scored (``--required-batch-size-multiple 1``; fairseq's default 8 drops
          up to 7), and a hypothesis count that differs from the test set is an error.

A run directory belongs to one configuration (``run_config.json``, see ``suite_results.rundir``):
training it again with other options is refused naming them; the sweep names its run directories
by optimizer, seed and a hash of the configuration, so other options get other directories.
"""

from __future__ import annotations

import json
import re
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import sacrebleu
import torch

from suite_results import locks, rundir, stats
from suite_results.cli import UserError, check_choices, portable_command
from suite_results.scalars import active_seconds, read_scalar, read_segments, stopped_seconds
from suite_results.files import atomic_savefig, write_csv
from suite_results.stats import format_spread
from suite_results.tables import Document

from .configs import ARCHITECTURES, HYPERPARAMETERS, OPTIMIZER_NAMES

BIN = Path(sys.executable).parent
DIVERGED = "FloatingPointError: gradients are Nan/Inf"  # what fairseq-train raises when a run diverges


def device_flags() -> list[str]:
    return [] if torch.cuda.is_available() else ["--cpu"]


def run_config(data: Path, optimizer: str, arch: str, hparams: str, seed: int, max_update: int,
               max_tokens: int) -> dict:
    """Everything that decides what a run computes, checked; the key of its run directory."""
    if hparams not in HYPERPARAMETERS:
        raise ValueError(f"Unknown hyperparameter set {hparams!r}; choose one of: {', '.join(HYPERPARAMETERS)}")
    if optimizer not in HYPERPARAMETERS[hparams]:
        raise ValueError(f"Unknown optimizer {optimizer!r}; choose one of: {', '.join(HYPERPARAMETERS[hparams])}")
    if arch not in ARCHITECTURES:
        raise ValueError(f"Unknown architecture {arch!r}; choose one of: {', '.join(ARCHITECTURES)}")
    for name, value in (("max_update", max_update), ("max_tokens", max_tokens)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"Invalid {name}: {value!r} (expected an integer >= 1)")
    return {"data": str(Path(data).resolve()), "optimizer": optimizer, "arch": arch, "hparams": hparams,
            "seed": seed, "max_update": max_update, "max_tokens": max_tokens,
            "flags": HYPERPARAMETERS[hparams][optimizer]}


def train(data: Path, run_dir: Path, optimizer: str, arch: str = "transformer-tiny", hparams: str = "fast",
          seed: int = 1, max_update: int = 300, max_tokens: int = 2048) -> dict:
    """Train (or resume) one run; returns {'wall_s', 'command'}."""
    config = run_config(data, optimizer, arch, hparams, seed, max_update, max_tokens)
    interval = str(max(1, max_update // 10))
    flags = [*ARCHITECTURES[arch], *HYPERPARAMETERS[hparams][optimizer], "--clip-norm", "5.0",
             "--criterion", "label_smoothed_cross_entropy", "--label-smoothing", "0.1",
             "--max-tokens", str(max_tokens), "--max-update", str(max_update), "--seed", str(seed),
             "--validate-interval-updates", interval, "--save-interval-updates", interval]
    return fairseq_train(data, run_dir, flags, config)


def fairseq_train(data: Path, run_dir: Path, flags: list[str], config: dict, root: Path | None = None) -> dict:
    """fairseq-train on ``data`` with ``flags`` into ``run_dir`` (claimed for ``config``), resuming from
    its checkpoint_last.pt; logs to run_dir/train.log and run_dir/tb. Returns {'wall_s', 'command'}:
    wall_s is this invocation's seconds plus, for a resumed run, the spans its earlier invocations
    logged (first to last training log of each), so a run interrupted and resumed still reports
    what it cost, not only its last part; time a process stood stopped (a gap in its logs) is not
    counted. The command names paths relative to ``root`` (default: the working directory)."""
    if not (Path(data) / "bin").is_dir():
        raise ValueError(f"{Path(data) / 'bin'} does not exist: prepare the data first (python -m nmt prepare)")
    run_dir = Path(run_dir)
    command = [str(BIN / "fairseq-train"), str(Path(data) / "bin"), *flags,
               "--save-dir", str(run_dir / "checkpoints"), "--tensorboard-logdir", str(run_dir / "tb"),
               "--no-epoch-checkpoints", "--keep-interval-updates", "1", "--log-format", "simple",
               "--log-interval", "10", "--no-progress-bar", "--num-workers", "0", *device_flags()]
    with locks.hold(run_dir):  # one writer per run directory (another process: refused, naming it)
        rundir.claim(run_dir, config)
        earlier = read_segments(run_dir / "tb" / "train_inner", "loss")  # what earlier invocations logged
        started = time.perf_counter()
        with open(run_dir / "train.log", "a") as log:
            offset = log.tell()
            result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT)
        elapsed = time.perf_counter() - started
        # less the time this invocation stood stopped (scripts/with_sweeps_paused.sh): gaps in its own logs
        paused = sum(map(stopped_seconds, read_segments(run_dir / "tb" / "train_inner", "loss")[len(earlier):]))
    trained = {"wall_s": sum(map(active_seconds, earlier)) + elapsed - paused, "command": portable_command(command, root)}
    if result.returncode != 0:
        with open(run_dir / "train.log", errors="replace") as log:
            log.seek(offset)
            output = log.read()
        if DIVERGED in output:  # fairseq's own check: a non-finite gradient norm ends the run
            return {**trained, "diverged": True}
        raise UserError(f"fairseq-train failed ({_exit_reason(result.returncode)}); see {run_dir / 'train.log'}")
    return trained


def _exit_reason(code: int) -> str:
    """A child's exit status in words: a negative one is the signal that killed it (SIGKILL with no
    message in train.log is most often the kernel's out-of-memory killer; `dmesg` says). Rerunning
    resumes the run from its last checkpoint."""
    if code >= 0:
        return f"exit {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    hint = ": out of memory? (dmesg); rerunning resumes from the last checkpoint" if name == "SIGKILL" else ""
    return f"killed by {name}{hint}"


def evaluate(data: Path, run_dir: Path, beam: int = 4) -> dict:
    """Translate the whole test split with checkpoint_best.pt and score it with sacrebleu."""
    data, run_dir = Path(data), Path(run_dir)
    checkpoint = run_dir / "checkpoints" / "checkpoint_best.pt"
    if not checkpoint.exists():
        raise ValueError(f"no checkpoint to evaluate: {checkpoint} does not exist (train first: python -m nmt "
                         f"train --data {data} --run {run_dir} ...)")
    prepared = json.loads((data / "prepared.json").read_text())
    src, tgt = prepared["source"], prepared["target"]
    command = [str(BIN / "fairseq-generate"), str(data / "bin"), "--path", str(checkpoint), "--gen-subset", "test",
               "--beam", str(beam), "--batch-size", "64", "--required-batch-size-multiple", "1",
               "--post-process", "sentencepiece", "--max-len-a", "1.2", "--max-len-b", "10", *device_flags()]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise UserError(f"fairseq-generate failed: {result.stderr.strip().splitlines()[-1][-500:] if result.stderr.strip() else ''}")
    hypotheses = {}
    for line in result.stdout.splitlines():
        match = re.match(r"^D-(\d+)\t[^\t]*\t(.*)$", line)
        if match:
            hypotheses[int(match.group(1))] = match.group(2)
    references = (data / "raw" / f"test.{tgt}").read_text(encoding="utf-8").splitlines()
    if sorted(hypotheses) != list(range(len(references))):
        raise UserError(f"fairseq-generate translated {len(hypotheses)} of the {len(references)} test sentences "
                           f"of {data}; refusing to score a subset")
    system = [hypotheses[i] for i in range(len(references))]
    refs = references
    (run_dir / "test.hyp").write_text("".join(h + "\n" for h in system), encoding="utf-8")
    bleu, chrf = sacrebleu.metrics.BLEU(), sacrebleu.metrics.CHRF()
    bleu_score, chrf_score = bleu.corpus_score(system, [refs]), chrf.corpus_score(system, [refs])
    scores = {"bleu": round(bleu_score.score, 2), "chrf": round(chrf_score.score, 2), "sentences": len(system),
              "bleu_signature": str(bleu.get_signature()), "chrf_signature": str(chrf.get_signature()),
              "direction": f"{src}-{tgt}", "example": {"hypothesis": system[0], "reference": refs[0]} if system else {}}
    (run_dir / "scores.json").write_text(json.dumps(scores, indent=1))
    return scores


def logged_spans(run_dir: Path) -> list[tuple[float, float]]:
    """(clock of the first training log, seconds it worked to the last) of each invocation of a run,
    in order: fairseq writes one event file per invocation (``suite_results.scalars.read_segments``);
    a stop inside one is left out (``suite_results.scalars.active_seconds``)."""
    return [(min(e.wall_time for e in s), active_seconds(s))
            for s in read_segments(Path(run_dir) / "tb" / "train_inner", "loss")]


def validation_curve(run_dir: Path, with_time: bool = False) -> list[tuple]:
    """(updates, validation loss) from the run's fairseq TensorBoard events; ``with_time``: (updates,
    loss, wall seconds to it). The seconds run on the events' clock from the first training log
    (update 10), validation included; a resumed run leaves out the pauses between its invocations
    (each invocation logs its own event file, a segment) and counts each earlier segment whole,
    work later redone from a checkpoint included: what the run cost to get there. (fairseq's own
    wall meter cannot serve: it logs 0 after a resume.)"""
    events = {e.step: e for e in read_scalar(Path(run_dir) / "tb" / "valid", "loss")}
    if not events:
        return []
    if not with_time:
        return sorted((step, e.value) for step, e in events.items())
    logged = logged_spans(run_dir) or [(min(e.wall_time for e in events.values()), 0.0)]
    starts, spans = [start for start, _ in logged], [span for _, span in logged]

    def seconds(event) -> float:
        k = max((i for i, start in enumerate(starts) if start <= event.wall_time), default=0)
        return sum(spans[:k]) + event.wall_time - starts[k]
    return sorted((step, e.value, seconds(e)) for step, e in events.items())


def run_one(data: Path, runs: Path, optimizer: str, seed: int, **train_kwargs) -> dict:
    """Train + evaluate, or reuse a finished run (results.json) of exactly this configuration; an
    interrupted run resumes. The run directory is ``<optimizer>-s<seed>-<hash of the configuration>``."""
    defaults = {"arch": "transformer-tiny", "hparams": "fast", "max_update": 300, "max_tokens": 2048}
    config = run_config(data, optimizer, seed=seed, **{**defaults, **train_kwargs})
    run_dir = Path(runs) / f"{optimizer}-s{seed}-{rundir.config_key(config)}"
    done = run_dir / "results.json"
    if done.exists():
        return json.loads(done.read_text())
    trained = train(data, run_dir, optimizer, seed=seed, **train_kwargs)
    scores = evaluate(data, run_dir)
    result = {"optimizer": optimizer, "seed": seed, "run": str(run_dir), **scores, **trained,
              "valid_curve": validation_curve(run_dir)}
    done.write_text(json.dumps(result, indent=1))
    return result


@dataclass
class SweepConfig:
    """optimizers x seeds on one prepared corpus (``python -m nmt sweep``)."""

    data: Path
    runs: Path | None = None  # default: runs/nmt/<data folder name>
    out: Path | None = None  # default: <data>/sweep
    optimizers: list[str] = field(default_factory=lambda: list(OPTIMIZER_NAMES))
    seeds: list[int] = field(default_factory=lambda: [1, 2])
    arch: str = "transformer-tiny"
    hparams: str = "fast"
    max_update: int = 300
    max_tokens: int = 2048

    def __post_init__(self):
        check_choices("optimizers", self.optimizers, OPTIMIZER_NAMES)
        check_choices("seeds", self.seeds, None)
        self.data = Path(self.data)
        self.runs = Path(self.runs) if self.runs else Path("runs/nmt") / self.data.name
        self.out = Path(self.out) if self.out else self.data / "sweep"


def run_sweep(config: SweepConfig) -> list[dict]:
    """Train and score every optimizer x seed (finished runs reused); writes results.csv,
    results.md and valid_loss.png under ``config.out``; returns the rows."""
    rows = []
    for optimizer in config.optimizers:
        for seed in config.seeds:
            row = run_one(config.data, config.runs, optimizer, seed, arch=config.arch, hparams=config.hparams,
                          max_update=config.max_update, max_tokens=config.max_tokens)
            print(f"{optimizer} seed {seed}: BLEU {row['bleu']} chrF {row['chrf']} ({row['wall_s']:.0f}s)", flush=True)
            rows.append(row)
    prepared = json.loads((config.data / "prepared.json").read_text())
    title = (f"{prepared['corpus']} ({prepared['source']}->{prepared['target']}), {prepared['train_pairs']} "
             f"training pairs, {config.arch}, {config.max_update} updates, '{config.hparams}' hyperparameters")
    write_sweep_outputs(rows, config.out, title)
    return rows


def write_sweep_outputs(rows: list[dict], out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    columns = ["optimizer", "seed", "bleu", "chrf", "sentences", "wall_s", "run", "bleu_signature"]
    write_csv(out / "results.csv", rows, columns)
    groups = {}
    for row in rows:
        groups.setdefault(row["optimizer"], []).append(row)

    def spread(values):
        return format_spread(stats.spread(values))

    Document().text(title).text(f"BLEU and chrF: mean ± std [{stats.INTERVAL}] over seeds.").table(
        ["optimizer", "seeds", "BLEU", "chrF", "wall time per run (s)"],
        [[optimizer, len(group), spread([r["bleu"] for r in group]), spread([r["chrf"] for r in group]),
          f"{statistics.mean(r['wall_s'] for r in group):.0f}"] for optimizer, group in groups.items()]).text(
        f"sacrebleu: `{rows[0]['bleu_signature']}`, `{rows[0]['chrf_signature']}`").write(out / "results.md")
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for optimizer, group in groups.items():
        for i, row in enumerate(group):
            if row["valid_curve"]:
                steps, losses = zip(*row["valid_curve"])
                ax.plot(steps, losses, color=f"C{list(groups).index(optimizer)}", alpha=0.8,
                        label=optimizer if i == 0 else None)
    ax.set(xlabel="updates", ylabel="validation loss (label-smoothed, base 2)", title=title[:80])
    ax.legend()
    fig.tight_layout()
    atomic_savefig(fig, out / "valid_loss.png", dpi=110)
    plt.close(fig)
