"""mkdocs hook: the checked-in results (``results/``: results.md pages and their figures) become
part of the site as they are, under ``results/``, so the results pages are the committed files
themselves, never copies that could drift from them."""

from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File

RESULTS = Path(__file__).resolve().parent.parent / "results"
KINDS = {".md", ".png", ".svg", ".csv", ".json"}


def on_files(files, config):
    for path in sorted(RESULTS.rglob("*")):
        if path.is_file() and path.suffix in KINDS and "tensorboard" not in path.parts and "runs" not in path.parts:
            uri = "results/" + path.relative_to(RESULTS).as_posix()
            files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files
