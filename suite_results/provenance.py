"""Where a benchmark's numbers were made: package versions and the machine, for its summary.json."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from collections import Counter
from importlib import metadata
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent  # the suite's folder (a git checkout, or an installed copy)
CODE = ("optim_plugins", "suite_results", "nmt", "vision", "gan", "theory", "optim_suite")  # what makes a row


def versions(packages) -> dict:
    """The installed version of each package (None where it is not installed)."""
    found = {}
    for package in packages:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def machine() -> dict:
    """CPU model, core count, GPU (None without CUDA) and Python version."""
    import torch  # noqa: PLC0415 - importing this module must not load torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available()
            else None, "python": platform.python_version()}


def _busy_seconds() -> float | None:
    """CPU seconds every core of this machine has spent busy since boot (Linux's /proc/stat; None elsewhere)."""
    try:
        with open("/proc/stat") as stat:
            fields = [float(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")  # guest time is already in user


BUSY = 0.25  # cores kept busy by other processes from which a timing is not an idle-core number


class OtherLoad:
    """How many cores other processes kept busy while a block ran, for a timing that must say whether
    it was made on idle cores (a sweep beside it slows it and makes it noisy):

        with OtherLoad() as load:
            ...time something...
        load.cores   # e.g. 1.9 beside two sweeps, ~0 on an idle machine; None where it cannot be told
        load.note()  # one line for a benchmark's output

    The machine's busy CPU time over the block (/proc/stat) less this process's own (all its threads)."""

    cores: float | None = None

    def __enter__(self):
        self._start = (_busy_seconds(), time.process_time(), time.perf_counter())
        return self

    def __exit__(self, *exc):
        busy, own, wall = _busy_seconds(), time.process_time(), time.perf_counter()
        if busy is not None and self._start[0] is not None and wall > self._start[2]:
            others = (busy - self._start[0]) - (own - self._start[1])
            self.cores = max(0.0, others / (wall - self._start[2]))
        return False

    def note(self) -> str:
        return load_note(self.cores, os.cpu_count())


def load_note(cores: float | None, total: int | None,
              rerun: str = "scripts/with_sweeps_paused.sh pauses this machine's sweeps") -> str:
    """What a timing says of the other processes beside it (``OtherLoad.cores``, now or as recorded):
    not known, idle (under BUSY cores), or busy: not idle-core numbers, with ``rerun``, how to time again."""
    if cores is None:
        return "whether other processes ran meanwhile: not known on this system"
    if cores < BUSY:
        return f"other processes kept {cores:.2f} cores busy meanwhile (idle)"
    return f"other processes kept {cores:.1f} of {total} cores busy meanwhile: NOT idle-core numbers ({rerun})"


def cpu_of(row: dict) -> str | None:
    """The CPU model a row was made on, None for a row written before rows carried ``machine``."""
    made_on = row.get("machine")
    return made_on.get("cpu") if isinstance(made_on, dict) else None


def machines_of(rows) -> str:
    """Where the rows' wall time was spent, for a results page: each recorded CPU model with its
    number of runs, then the runs that recorded none (rows written before rows carried ``machine``).
    A sweep carries across sessions and hosts, so one machine for a whole summary would be a guess."""
    counts = Counter(cpu_of(r) for r in rows)
    parts = [f"{n} on {cpu}" for cpu, n in counts.most_common() if cpu]
    if counts[None]:
        parts.append(f"{counts[None]} with no machine recorded")
    return "; ".join(parts) or "no runs"


def _commit() -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(CHECKOUT), "rev-parse", "--short=10", "HEAD"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def code() -> dict:
    """The suite's code a run was made with: the checkout's commit (None outside a git checkout) and
    whether the code under it differed from that commit (uncommitted changes in its packages: then
    the commit alone does not say what ran). Both asked again for each row, when it is written: a sweep
    outlives commits and edits."""
    commit = _commit()
    dirty = None
    if commit is not None:
        try:
            done = subprocess.run(["git", "-C", str(CHECKOUT), "status", "--porcelain", "--", *CODE],
                                  capture_output=True, text=True, timeout=30)
            dirty = bool(done.stdout.strip()) if done.returncode == 0 else None
        except (OSError, subprocess.SubprocessError):
            pass
    return {"commit": commit, "dirty": dirty, "torch": versions(("torch",))["torch"]}


def code_of(rows) -> str:
    """Which code the rows were made with, for a results page: each commit (``+changes`` when its code
    had uncommitted edits) and torch version with its number of runs, then those that recorded none
    (rows written before rows carried ``code``)."""
    def label(row):
        made = row.get("code")
        if not isinstance(made, dict):
            return None
        commit = made.get("commit") or "no git checkout"
        return f"{commit}{' +changes' if made.get('dirty') else ''}, torch {made.get('torch')}"
    counts = Counter(label(r) for r in rows)
    parts = [f"{n} at {what}" for what, n in counts.most_common() if what]
    if counts[None]:
        parts.append(f"{counts[None]} with no code version recorded")
    return "; ".join(parts) or "no runs"
