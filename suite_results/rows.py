"""Reading checked-in result rows: a damaged row is one clear error naming its file, never a raw
traceback or a silently dropped row.

A benchmark's summary is made from every row there is; a row that cannot be read stops it with
:class:`DamagedRow` (a ``ValueError``: the CLIs print it as one line and exit 2), naming the file and
what is wrong (not JSON, where; a missing field). Nothing is skipped: a summary that silently left a
run out would report a different experiment. Move the file away (its run is then trained again) or
restore it from git.
"""

from __future__ import annotations

import json
from pathlib import Path


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
