"""``optim-suite`` (and ``python -m optim_suite``): settle a user's optimizer, or run a benchmark's own
command line as a subcommand (see ``optim_suite/__init__.py``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from suite_results import slurm
from suite_results.cli import run_cli

PROG = "optim-suite"


def settle_parser() -> argparse.ArgumentParser:
    from . import settle  # noqa: PLC0415

    p = argparse.ArgumentParser(prog=f"{PROG} settle", description=settle.__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--optimizer", help="a name of this library, or module:Class of any torch.optim.Optimizer")
    source.add_argument("--candidates", type=Path, help="a TOML file of candidates (the form of "
                                                         "suite_results/candidates.toml, one table per candidate)")
    p.add_argument("--name", help="the candidate's name (default: the class name, lower case)")
    p.add_argument("--lr-grid", type=float, nargs="+", help="the lr grid the protocol starts from "
                                                            "(default: the class's default lr / 3, x 1, x 3)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", default=[],
                   help="a fixed hyperparameter, e.g. --set momentum_decay=0.004 --set betas=0.9,0.99")
    p.add_argument("--benchmarks", nargs="+", required=True, help="theory and benchmark names (fmnist-resnet, ...)")
    p.add_argument("--root", type=Path, default=Path("."))
    p.add_argument("--theory-scale", choices=["tiny", "small"], default="small")
    p.add_argument("--dry-run", action="store_true", help="print the runs and the CPU hours only")
    p.add_argument("--no-train", dest="train", action="store_false", help="only rewrite the page from the rows")
    slurm.add_arguments(p)
    return p


def settle_main(argv) -> int:
    from suite_results import candidates as candidate_data  # noqa: PLC0415

    from . import settle  # noqa: PLC0415

    args = settle_parser().parse_args(argv)
    if args.candidates:
        found = list(candidate_data.load(args.candidates).values())
        if args.name or args.lr_grid or args.set:
            raise ValueError("--candidates: the file says each candidate's name, grid and settings "
                             "(--name, --lr-grid and --set go with --optimizer)")
        for c in found:
            candidate_data.check(c)
    else:
        found = [candidate_data.user_candidate(args.optimizer, args.name, args.lr_grid,
                                               candidate_data.parse_settings(args.set))]
    config = slurm.config_from(args)
    for candidate in found:
        page = settle.settle(candidate, args.benchmarks, args.root, args.dry_run, config, args.theory_scale,
                             args.train)
        if page is not None:
            print((args.root / "results" / "settle" / candidate.name / "results.md").read_text())
    return 0


COMMANDS = {  # subcommand -> (module whose main takes argv, what it is)
    "nmt": ("nmt.__main__", "translation: prepare, train, evaluate, sweep, benchmark (python -m nmt)"),
    "vision": ("vision.__main__", "image classification: train, benchmark (python -m vision)"),
    "gan": (None, "the WGAN trainer and its benchmarks: gan train | gan benchmark | gan sweep"),
    "theory": ("theory.run", "the counterexamples (python -m theory.run)"),
}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: {PROG} {{settle,{','.join(COMMANDS)}}} ...\n")
        print("  settle    any torch optimizer through the benchmarks against the checked-in baselines")
        for name, (_, what) in COMMANDS.items():
            print(f"  {name:9} {what}")
        return 0
    command, rest = argv[0], argv[1:]
    if command == "settle":
        return settle_main(rest)
    if command not in COMMANDS:
        raise ValueError(f"unknown command {command!r} (choose from: settle, {', '.join(COMMANDS)})")
    import importlib  # noqa: PLC0415

    if command == "gan":
        sub = {"train": "gan.train", "benchmark": "gan.benchmark", "sweep": "gan.sweep"}
        if not rest or rest[0] not in sub:
            raise ValueError(f"{PROG} gan: choose one of: {', '.join(sub)}")
        module, rest = sub[rest[0]], rest[1:]
    else:
        module = COMMANDS[command][0]
    result = importlib.import_module(module).main(rest)
    return result if isinstance(result, int) else 0


def entry() -> None:
    """The console script."""
    raise SystemExit(run_cli(PROG, main))


if __name__ == "__main__":
    entry()
