"""Where a benchmark's numbers were made: package versions and the machine, for its summary.json."""

from __future__ import annotations

import os
import platform
import subprocess
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
