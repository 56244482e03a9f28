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


class Document:
    """A results page as blocks (headings, paragraphs, tables of cells), written twice by
    :meth:`write`: as Markdown (``results.md``, for people and GitHub) and as JSON (``tables.json``
    beside it, for the report, which renders the cells without parsing the Markdown back)."""

    SIDECAR = "tables.json"

    def __init__(self, blocks: list[dict] | None = None):
        self.blocks = list(blocks or [])

    def heading(self, text: str, level: int = 1) -> Document:
        self.blocks.append({"heading": str(text), "level": level})
        return self

    def text(self, text: str) -> Document:
        self.blocks.append({"text": str(text)})
        return self

    def table(self, header: list[str], rows: list[list]) -> Document:
        markdown_table(header, rows)  # checks the row lengths
        self.blocks.append({"header": [str(h) for h in header], "rows": [[str(c) for c in row] for row in rows]})
        return self

    def markdown(self) -> str:
        parts = []
        for block in self.blocks:
            if "heading" in block:
                parts.append("#" * block["level"] + " " + block["heading"])
            elif "text" in block:
                parts.append(block["text"])
            else:
                parts.append("\n".join(markdown_table(block["header"], block["rows"])))
        return "\n\n".join(parts) + "\n"

    def html(self, heading_offset: int = 2) -> str:
        """HTML of the blocks; headings move down ``heading_offset`` levels (the page keeps h1/h2)."""
        import html  # noqa: PLC0415

        def inline(text: str) -> str:  # `code` spans and **bold** as Markdown writes them
            text = re.sub(r"`([^`]*)`", r"<code>\1</code>", html.escape(text))
            return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", text)

        out = []
        for block in self.blocks:
            if "heading" in block:
                level = min(block["level"] + heading_offset, 6)
                out.append(f"<h{level}>{html.escape(block['heading']).replace('`', '')}</h{level}>")
            elif "text" in block:
                out.append(f"<p>{inline(block['text'])}</p>")
            else:
                out.append("<table><tr>" + "".join(f"<th>{inline(h)}</th>" for h in block["header"]) + "</tr>" +
                           "".join("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in row) + "</tr>"
                                   for row in block["rows"]) + "</table>")
        return "\n".join(out)

    def write(self, markdown_path) -> None:
        """``markdown_path`` and ``tables.json`` in the same folder, each atomically."""
        import json  # noqa: PLC0415
        from pathlib import Path  # noqa: PLC0415

        from .files import atomic_write_text  # noqa: PLC0415

        markdown_path = Path(markdown_path)
        markdown_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(markdown_path, self.markdown())
        atomic_write_text(markdown_path.with_name(self.SIDECAR), json.dumps({"blocks": self.blocks}, indent=1))

    @classmethod
    def load(cls, folder) -> Document | None:
        """The document written into ``folder``; None when there is none."""
        import json  # noqa: PLC0415
        from pathlib import Path  # noqa: PLC0415

        path = Path(folder) / cls.SIDECAR
        return cls(json.loads(path.read_text())["blocks"]) if path.exists() else None
