"""Command line: python -m nmt {prepare,train,evaluate,sweep} ...

    python -m nmt prepare --corpus bible-en-es --max-train 5000 --out outputs/nmt/bible
    python -m nmt train --data outputs/nmt/bible --optimizer adashift --run runs/nmt/bible/adashift-s1
    python -m nmt evaluate --data outputs/nmt/bible --run runs/nmt/bible/adashift-s1
    python -m nmt sweep --data outputs/nmt/bible --optimizers adam amsgrad adashift adamal sgd --seeds 1 2
    python -m nmt benchmark --benchmark bible-cpu      # the fair multi-seed protocol (nmt/benchmark.py)
    python -m nmt step-scale RUN/checkpoints/checkpoint_last.pt --reduced ADASHIFT_RUN/...  (nmt/step_scale.py)
    python -m nmt step-size RUN/checkpoints/checkpoint_last.pt                               (nmt/step_size.py)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from suite_results import slurm, sweeps
from suite_results.cli import run_cli

from .benchmark import BENCHMARKS, CANDIDATES, run_benchmark
from .configs import ARCHITECTURES, HYPERPARAMETERS, OPTIMIZER_NAMES
from .experiment import SweepConfig, evaluate, run_sweep, train
from .prepare import CORPORA, prepare


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (the parser names the flag when it is not)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not >= 1")
    return value


def _train_args(parser):
    parser.add_argument("--arch", choices=list(ARCHITECTURES), default="transformer-tiny")
    parser.add_argument("--hparams", choices=list(HYPERPARAMETERS), default="fast")
    parser.add_argument("--max-update", type=positive_int, default=300)
    parser.add_argument("--max-tokens", type=positive_int, default=2048)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nmt", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    steps = parser.add_subparsers(dest="step", required=True)
    p = steps.add_parser("prepare", help="corpus -> splits -> sentencepiece BPE -> fairseq binaries")
    p.add_argument("--corpus", choices=list(CORPORA), default="bible-en-es")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--max-train", type=positive_int, default=None, help="default: the whole training split")
    p.add_argument("--valid", type=positive_int, default=500)
    p.add_argument("--test", type=positive_int, default=1000)
    p.add_argument("--vocab-size", type=positive_int, default=4000)
    p.add_argument("--seed", type=int, default=1)
    t = steps.add_parser("train", help="one fairseq-train run")
    t.add_argument("--data", type=Path, required=True)
    t.add_argument("--run", type=Path, required=True)
    t.add_argument("--optimizer", choices=OPTIMIZER_NAMES, required=True)
    t.add_argument("--seed", type=int, default=1)
    _train_args(t)
    e = steps.add_parser("evaluate", help="fairseq-generate on test + sacrebleu")
    e.add_argument("--data", type=Path, required=True)
    e.add_argument("--run", type=Path, required=True)
    s = steps.add_parser("sweep", help="optimizers x seeds -> results.csv, results.md, valid_loss.png")
    s.add_argument("--data", type=Path, required=True)
    s.add_argument("--runs", type=Path, default=None, help="default: runs/nmt/<data folder name>")
    s.add_argument("--out", type=Path, default=None, help="default: <data>/sweep")
    s.add_argument("--optimizers", nargs="+", choices=OPTIMIZER_NAMES, default=list(OPTIMIZER_NAMES))
    s.add_argument("--seeds", nargs="+", type=int, default=[1, 2])
    _train_args(s)
    b = steps.add_parser("benchmark", help="a named benchmark: lr grid per optimizer, then seeds (nmt/benchmark.py)")
    b.add_argument("--benchmark", choices=list(BENCHMARKS), default="bible-cpu")
    b.add_argument("--candidates", nargs="+", choices=list(CANDIDATES), default=None,
                   help="default: all of the benchmark's")
    sweeps.add_arguments(b)
    b.add_argument("--tune-only", action="store_true",
                   help="train the lr grids only (every candidate's lr decided before the full runs)")
    slurm.add_arguments(b)
    c = steps.add_parser("step-scale", help="what a per-tensor reduce does to each element's step (nmt/step_scale.py)")
    c.add_argument("elementwise", type=Path, help="a checkpoint of an Adam-family run (a v per element)")
    c.add_argument("--reduced", type=Path, default=None, help="a checkpoint of a reduce max/mean AdaShift run")
    c.add_argument("--out", type=Path, default=None, help="also write the Markdown here")
    z = steps.add_parser("step-size", help="the last update's size per element and unit lr (nmt/step_size.py)")
    z.add_argument("checkpoint", type=Path, help="a checkpoint of an Adam, AMSGrad or AdaShift run")
    z.add_argument("--out", type=Path, default=None, help="also write the Markdown here")
    args = parser.parse_args(argv)
    if args.step == "sweep":
        try:
            args.config = SweepConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(SweepConfig)})
        except ValueError as error:
            parser.error(str(error))
    return _run(args)


def _run(args) -> int:
    if args.step == "benchmark":
        summary = run_benchmark(args.benchmark, args.root, args.candidates, args.train, args.tune_only,
                                slurm_config=slurm.config_from(args), plan=args.plan)
        if args.plan:
            return 0
        print((args.root / "results" / "nmt" / args.benchmark / "results.md").read_text())
        return 0 if summary["optimizers"] else 1
    if args.step in ("step-scale", "step-size"):
        from suite_results.files import atomic_write_text

        if args.step == "step-scale":
            from .step_scale import report, step_scale
            command = " ".join(["python -m nmt step-scale", str(args.elementwise),
                                *(["--reduced", str(args.reduced)] if args.reduced else [])])
            text = report(step_scale(args.elementwise, args.reduced), command)
        else:
            from . import step_size
            text = step_size.report(*step_size.step_sizes(args.checkpoint),
                                    f"python -m nmt step-size {args.checkpoint}")
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(args.out, text)
        print(text)
        return 0
    if args.step == "prepare":
        summary = prepare(args.corpus, args.out, args.valid, args.test, args.max_train, args.vocab_size, args.seed)
        print(json.dumps(summary, indent=1))
    elif args.step == "train":
        print(json.dumps(train(args.data, args.run, args.optimizer, args.arch, args.hparams, args.seed,
                               args.max_update, args.max_tokens)))
    elif args.step == "evaluate":
        print(json.dumps(evaluate(args.data, args.run), indent=1, ensure_ascii=False))
    else:
        run_sweep(args.config)
        print((args.config.out / "results.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(run_cli("python -m nmt", main))
