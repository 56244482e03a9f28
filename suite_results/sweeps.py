"""The loop every benchmark's sweep runs: train the next row its protocol needs that no other process
holds, until none is left.

A benchmark's ``train_one(item)`` trains one row under the row directory's lock
(``suite_results.locks.try_hold``) and returns it, or :data:`LOCKED` when another process holds it;
that row is left to its holder and the next one is tried. When every row left is another process's,
the loop waits ``poll_s`` seconds and reads the state again (the other process's rows land meanwhile).
One line on stderr before and after each run.

A sweep rewrites its benchmark's page after each row (:func:`refresh`): the rows are read and the page
written from them under one lock, so two sweeps of one benchmark take turns and neither writes a page
(which removes the TensorBoard files of rows it does not list) from a row list older than the other's.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path
from typing import Callable, TypeVar

from . import locks
from .rows import estimate_hours, read_row

LOCKED = "locked"  # train_one's answer for a row another process is training
S = TypeVar("S")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every benchmark CLI shares (``python -m nmt benchmark``, ``python -m vision benchmark``,
    ``python -m gan.benchmark``): where it writes, rewriting from the rows only, and the plan only."""
    parser.add_argument("--root", type=Path, default=Path("."), help="outputs/, runs/ and results/ go here")
    parser.add_argument("--no-train", dest="train", action="store_false",
                        help="only rewrite summary.json, results.md and the plot from the rows there are")
    parser.add_argument("--plan", action="store_true",
                        help="print the runs the sweep would make and their CPU hours; train and write nothing")


def refresh(lock_dir: Path | None, read: Callable[[], S], write: Callable[[S], dict]) -> tuple[S, dict]:
    """``state = read()`` (the rows there are) and ``write(state)`` (the summary, with the page written
    from that state), both under ``lock_dir``'s lock, waiting while another process holds it; no lock
    when ``lock_dir`` is None (nothing written to disk)."""
    with locks.wait_hold(lock_dir) if lock_dir is not None else contextlib.nullcontext():
        state = read()
        return state, write(state)


def run(prog: str, todo: Callable[[], list], train_one: Callable, label: Callable, result: Callable,
        after: Callable[[bool], None], poll_s: float = 60.0) -> int:
    """Until ``todo()`` is empty: train its first item nobody else holds, then ``after(True)`` (read
    the state again and rewrite the results); with every item another process's, wait ``poll_s`` and
    ``after(False)`` (read the state again). ``label(item)`` and ``result(row)`` word the log lines.
    Returns the number of rows this process trained."""
    trained = 0
    while True:
        items = todo()
        if not items:
            return trained
        row = LOCKED
        for item in items:
            print(f"{prog}: {label(item)} ({len(items)} runs the protocol needs now, {trained} trained by this "
                  f"process)", file=sys.stderr, flush=True)
            row = train_one(item)
            if row is LOCKED:
                print(f"{prog}: {label(item)} is being trained by another process; next", file=sys.stderr, flush=True)
                continue
            trained += 1
            print(f"{prog}: {label(item)}: {result(row)}", file=sys.stderr, flush=True)
            break
        if row is LOCKED:
            time.sleep(poll_s)  # every row left is another process's: wait for its results
        after(row is not LOCKED)


def committed_or_trained(path: Path, run_dir: Path, read: Callable[[Path], dict], make: Callable[[], dict],
                         train: bool = True):
    """One row of a benchmark: the committed row at ``path`` when there is one; else None when
    ``train`` is False; else :data:`LOCKED` while another process holds ``run_dir``; else ``make()``
    (which trains it and writes ``path``), under that directory's lock."""
    if path.exists():
        return read(path)
    if not train:
        return None
    with locks.try_hold(run_dir) as mine:
        if not mine:
            return LOCKED
        if path.exists():  # another process finished it meanwhile
            return read(path)
        return make()


def plan(prog: str, protocol: list, design: list, label: Callable, rows_dir: Path,
         kind: Callable[[object], tuple]) -> list[dict]:
    """Print what the sweep would train, before anything runs (``--plan`` of every benchmark): the runs
    the protocol needs now, then the seeds Stein's design asks for as the rows stand (the sweep makes
    them once the protocol needs none), a line each with its estimated CPU hours (the median of the
    rows in ``rows_dir`` like it, ``kind(item)`` = (candidate, phase), this machine's first:
    ``suite_results.rows.estimate_hours``), then the total. The runs these lead to (the protocol's
    next rung or neighbour, a design's second stage) depend on their results, so the total is a lower
    bound and says so. A run another sweep is training now is listed too. Returns the lines' data."""
    rows = [read_row(p) for p in sorted(Path(rows_dir).glob("*.json"))]
    planned = [{"run": label(item), "cpu_hours": estimate_hours(rows, *kind(item)), "for": why}
               for why, items in (("protocol", protocol), ("design", design)) for item in items]
    if not planned:
        print(f"{prog}: nothing to run: the protocol and every claim's seeds design have all the rows they ask for")
        return planned
    print(f"{prog}: {len(protocol)} run(s) the protocol needs now, then {len(design)} for the seeds "
          f"Stein's design asks for (nothing trained, nothing written)")
    for p in planned:
        cost = "unknown" if p["cpu_hours"] is None else f"~{p['cpu_hours']:.2f} CPU h"
        print(f"  {p['run']:48} {p['for']:9} {cost}")
    known = [p["cpu_hours"] for p in planned if p["cpu_hours"] is not None]
    unknown = len(planned) - len(known)
    untimed = f" (+{unknown} run(s) with no row like them to time)" if unknown else ""
    print(f"  total: at least ~{sum(known):.1f} CPU h{untimed}; "
          "the runs these lead to (next rung, neighbours, Stein's second stage) come after them")
    return planned


def drive(prog: str, todo: Callable[[], list], train_one: Callable, label: Callable, result: Callable,
          after: Callable[[bool], None], poll_s: float, slurm_config=None, job: Callable | None = None,
          folder: Path | None = None) -> int:
    """The sweep on the executor asked for: this machine's processes (:func:`run`, the default), or
    SLURM job arrays when ``slurm_config`` is given (``suite_results.slurm``: ``job(item)`` runs in a
    job and writes the row; ``folder`` keeps the job ids and logs)."""
    if slurm_config is None:
        return run(prog, todo, train_one, label, result, after, poll_s)
    from . import slurm  # noqa: PLC0415

    return slurm.run(prog, todo, key=label, job=job, after=after, config=slurm_config, folder=folder, label=label)


def job_threads() -> None:
    """In a SLURM job: torch uses the CPUs the job was given (the local sweeps run one thread a run)."""
    import os  # noqa: PLC0415

    import torch  # noqa: PLC0415

    torch.set_num_threads(int(os.environ.get("SLURM_CPUS_PER_TASK", "1")))
