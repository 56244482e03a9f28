"""Writing and reading checked-in result rows: a damaged row is one clear error naming its file,
never a raw traceback or a silently dropped row.

Every benchmark writes its rows with :func:`write_row`, which stamps the machine the run was made
on (``suite_results.provenance.machine``): a sweep crosses sessions and hosts, so a row's wall time
means something only beside its machine (``provenance.machines_of`` counts them for a page).

A benchmark's summary is made from every row there is; a row that cannot be read stops it with
:class:`DamagedRow` (a ``ValueError``: the CLIs print it as one line and exit 2), naming the file and
what is wrong (not JSON, where; a missing field). Nothing is skipped: a summary that silently left a
run out would report a different experiment. Move the file away (its run is then trained again) or
restore it from git.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from .files import atomic_write_text
from .provenance import code, cpu_of, machine


def write_row(path: Path, row: dict) -> dict:
    """``row`` with the machine and the code it was made with (``provenance.code``: the suite's commit,
    uncommitted edits or not, torch's version), written atomically to ``path`` as JSON (no NaN: a row
    holds numbers a later summary averages); the stamped row is returned."""
    row = {**row, "machine": machine(), "code": code()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(row, indent=1, allow_nan=False))
    return row


class DamagedRow(ValueError):
    """A result row that is not the JSON object its benchmark writes."""


def read_row(path: Path, required=(), full_required=()) -> dict:
    """The row in ``path``; DamagedRow when it is not a JSON object holding ``required`` and
    ``full_required`` keys."""
    path = Path(path)
    fix = "move it away (the run is then trained again) or restore it (git checkout -- FILE)"
    try:
        row = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise DamagedRow(f"damaged result row {path}: not UTF-8 text ({error.reason}); {fix}") from None
    except json.JSONDecodeError as error:
        raise DamagedRow(f"damaged result row {path}: not valid JSON ({error.msg} at line {error.lineno} "
                         f"column {error.colno}); {fix}") from None
    if not isinstance(row, dict):
        raise DamagedRow(f"damaged result row {path}: a JSON {type(row).__name__}, not an object; {fix}")
    missing = [k for k in (*required, *full_required) if k not in row]
    if missing:
        raise DamagedRow(f"damaged result row {path}: missing {', '.join(map(repr, missing))}; {fix}")
    return row


def wall_hours(rows: list[dict], candidate: str | None = None, phase: str | None = None) -> float | None:
    """Median wall hours of the rows of ``candidate`` at ``phase`` (None: any), or None when no such row
    records its time. A row's time is ``wall_s`` (NMT) or ``train_seconds``; its candidate ``candidate``
    or ``optimizer`` (GAN); its phase ``phase``, else "full" (a one-rung protocol)."""
    seconds = [r.get("wall_s", r.get("train_seconds")) for r in rows
               if candidate in (None, r.get("candidate", r.get("optimizer"))) and phase in (None, r.get("phase", "full"))]
    seconds = [s for s in seconds if s is not None]
    return statistics.median(seconds) / 3600 if seconds else None


def estimate_hours(rows: list[dict], candidate: str | None, phase: str | None = None) -> float | None:
    """The hours a new run of ``candidate`` (None: any) at ``phase`` will take on this machine, from the rows there
    are: the median of such rows made on this machine's CPU model, else of any candidate's rows at that
    phase made on it, else the same two anywhere; None with no row to go by. The machine comes first:
    a bible-cpu run took 0.6-1.5 h on one CPU model and 2 h on another, while the candidates of one
    benchmark differ far less."""
    here = machine()["cpu"]
    local = [r for r in rows if cpu_of(r) == here]
    for pool, who in ((local, candidate), (local, None), (rows, candidate), (rows, None)):
        hours = wall_hours(pool, who, phase)
        if hours is not None:
            return hours
    return None
