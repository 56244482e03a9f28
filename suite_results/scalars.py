"""Scalars read back from a run's TensorBoard event files (what gan.train and fairseq write)."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import NamedTuple


class Scalar(NamedTuple):
    step: int
    value: float
    wall_time: float


def read_scalars(folder: Path | str, prefix: str = "") -> dict[str, list[Scalar]]:
    """Every scalar tag under ``folder`` (or in one event file) that starts with ``prefix``, each
    sorted by step. A resumed run may log a step twice: the value written last (by its clock) is kept. A missing
    folder reads as no tags."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    if not Path(folder).exists():
        return {}
    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    accumulator.Reload()
    out = {}
    for tag in accumulator.Tags()["scalars"]:
        if tag.startswith(prefix):
            by_step = {}
            for e in accumulator.Scalars(tag):  # by clock, not by the order files are read (names can sort
                if e.step not in by_step or e.wall_time >= by_step[e.step].wall_time:  # out of order)
                    by_step[e.step] = Scalar(e.step, e.value, e.wall_time)
            out[tag] = [by_step[step] for step in sorted(by_step)]
    return out


def read_scalar(folder: Path | str, tag: str) -> list[Scalar]:
    """One tag's scalars (see :func:`read_scalars`); [] when the run never logged it."""
    return read_scalars(folder, tag).get(tag, [])


def read_segments(folder: Path | str, tag: str) -> list[list[Scalar]]:
    """One tag's scalars per event file under ``folder`` (each process that logs writes its own
    file, so a resumed run has one segment per invocation), each sorted by step, the segments in
    the order they were written; files without the tag are left out."""
    files = Path(folder).glob("events.out.tfevents.*") if Path(folder).is_dir() else []
    segments = [segment for segment in (read_scalar(path, tag) for path in files) if segment]
    return sorted(segments, key=lambda s: min(e.wall_time for e in s))


def active_seconds(segment: list[Scalar], gap_factor: float = 10.0, least_gap: float = 60.0) -> float:
    """The seconds one segment (one process's logs, :func:`read_segments`) spent working: first to
    last log, less the gaps no work filled (the process stopped by scripts/with_sweeps_paused.sh,
    a suspended machine). A gap longer than ``gap_factor`` times the median interval between logs,
    and than ``least_gap`` seconds, counts as one median interval (the work it did hold)."""
    times = sorted(e.wall_time for e in segment)
    gaps = [b - a for a, b in zip(times, times[1:])]
    if not gaps:
        return 0.0
    typical = statistics.median(gaps)
    longest = max(gap_factor * typical, least_gap)
    return sum(typical if gap > longest else gap for gap in gaps)


def stopped_seconds(segment: list[Scalar]) -> float:
    """The seconds of one segment's span (first to last log) that :func:`active_seconds` leaves out."""
    times = [e.wall_time for e in segment]
    return max(times) - min(times) - active_seconds(segment) if times else 0.0


def worked_seconds(folder: Path | str, tag: str) -> float:
    """What a run worked over all its invocations, from one tag's logs: the sum of each segment's
    :func:`active_seconds` (the time between a kill and the resume, and stops inside one, left out)."""
    return sum(active_seconds(s) for s in read_segments(folder, tag))
