"""Atomic writes: the file holds either its old content or the whole new one, never a part."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path


def _partial(path: Path) -> Path:
    # One name per process: two sweeps of one benchmark share its results folder and may write its
    # summary at the same moment; with one shared ``.part`` the second's ``os.replace`` found the
    # first's already moved away and that sweep died (2026-12-06, bible-lstm-cpu).
    return path.with_name(f"{path.name}.{os.getpid()}.part")


def atomic_write_text(path: Path, text: str) -> None:
    path = Path(path)
    partial = _partial(path)
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    partial = _partial(path)
    partial.write_bytes(data)
    os.replace(partial, path)


def atomic_torch_save(obj, path: Path) -> None:
    import torch  # noqa: PLC0415 - only the callers that save tensors pay for the import

    path = Path(path)
    partial = _partial(path)
    torch.save(obj, partial)
    os.replace(partial, path)


def atomic_savefig(fig, path: Path, **options) -> None:
    """``fig.savefig(path, **options)``, written atomically: two sweeps of one benchmark redraw its
    plot, and a reader never sees half an image."""
    path = Path(path)
    data = io.BytesIO()
    fig.savefig(data, format=path.suffix.lstrip(".") or "png", **options)
    atomic_write_bytes(path, data.getvalue())


def write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    """``rows`` as CSV with a header of ``columns`` (keys not in it are left out), written atomically."""
    text = io.StringIO()
    writer = csv.DictWriter(text, columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, text.getvalue())


def finite_or_none(obj):
    """``obj`` with every NaN/inf float replaced by None (JSON has no such numbers: the suite writes
    strict JSON, ``allow_nan=False``)."""
    import math  # noqa: PLC0415

    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_or_none(v) for v in obj]
    return obj


def check_creatable(folder, flag: str) -> None:
    """A ValueError naming ``flag`` when ``folder`` cannot be made (or written) here: a file in its way
    or a read-only ancestor. Checked before a command creates anything, so a command that cannot
    write one of its folders leaves none of the others behind."""
    import os  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"{flag} {folder}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} {folder}: {existing} is not writable")
