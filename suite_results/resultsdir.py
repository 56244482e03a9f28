"""A benchmark's results folder, written in one place for every benchmark (nmt, vision, gan):
``summary.json`` (strict JSON: a row holds no NaN, so neither does a summary), the page
(``results.md`` and its ``tables.json``), its plot and one TensorBoard run per row."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from . import tensorboard as tb
from .files import atomic_write_text
from .tables import Document


def write(folder: Path, summary: dict, document: Document, plot: tuple[str, Callable[[dict, Path], None]],
          runs: list[tb.Run], row_paths: list[Path]) -> dict:
    """Write ``summary`` and everything made from it into ``folder``: ``plot`` is the figure's file name
    and the function drawing it from the summary; ``runs`` the TensorBoard runs, one per row in
    ``row_paths`` (same order; see :func:`suite_results.tensorboard.write_runs`). Returns ``summary``."""
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "summary.json", json.dumps(summary, indent=1, allow_nan=False))
    document.write(folder / "results.md")
    name, draw = plot
    draw(summary, folder / name)
    tb.write_runs(folder / "tensorboard", runs, row_paths)
    return summary
