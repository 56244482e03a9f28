"""Where a benchmark's numbers were made: package versions and the machine, for its summary.json."""

from __future__ import annotations

import os
import platform
from collections import Counter
from importlib import metadata


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
