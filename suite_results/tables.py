"""Markdown pipe tables that survive a ``|`` inside a cell (``max |dx|``): written escaped as ``\\|``
(as GitHub renders it), split only on unescaped pipes when read back."""

from __future__ import annotations

import re

_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def escape_cell(value) -> str:
    return str(value).replace("\n", " ").replace("|", "\\|")


def markdown_table(header: list[str], rows: list[list]) -> list[str]:
    """Lines of a pipe table; every row has the header's number of cells."""
    lines = ["| " + " | ".join(escape_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"table row {row!r} has {len(row)} cells, the header {len(header)}")
        lines.append("| " + " | ".join(escape_cell(c) for c in row) + " |")
    return lines


def split_row(line: str) -> list[str]:
    """The cells of one pipe-table line, unescaped."""
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [cell.strip().replace("\\|", "|") for cell in _UNESCAPED_PIPE.split(inner)]
