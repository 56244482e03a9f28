"""Write report/index.html from the demo's stage results: plots, tables, commands, environment."""

from __future__ import annotations

import datetime
import html
import json
import os
import platform
import shutil
from importlib import metadata
from pathlib import Path

from suite_results.tables import Document

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.25em .6em;font-size:.9em}
th{background:#f3f3f3}pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:.85em}
img{max-width:100%;border:1px solid #ddd;margin:.4em 0}.failed{color:#b00}.ok{color:#070}"""


def environment() -> dict:
    import torch

    versions = {}
    for package in ("torch", "fairseq-fixed", "numpy", "scipy", "sacrebleu", "sentencepiece", "tensorboard",
                    "torchvision", "matplotlib"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU ({os.cpu_count()} cores)"
    return {"python": platform.python_version(), "platform": platform.platform(), "device": device, **versions}


def results_html(markdown_path: Path) -> str:
    """The results page written beside ``markdown_path`` (``suite_results.tables.Document``: its
    tables.json), rendered from its cells; a Markdown file without one is shown as it is."""
    document = Document.load(markdown_path.parent)
    if document is not None:
        return document.html()
    return f"<pre>{html.escape(markdown_path.read_text())}</pre>" if markdown_path.exists() else ""


CHECKED_IN = Path(__file__).resolve().parents[1] / "results"


def checked_in_results(images: Path, root: Path = CHECKED_IN) -> list[str]:
    """HTML for the benchmark results committed under results/ (the long runs), marked as such."""
    parts = []
    for folder in sorted(p.parent for p in root.glob("**/*.md") if p.name in ("results.md", "summary.md")):
        label = folder.relative_to(root).as_posix()
        parts.append(f"<h3>results/{html.escape(label)} <small>(checked-in benchmark result, not this run)</small></h3>")
        parts.append(results_html(folder / ("results.md" if (folder / "results.md").exists() else "summary.md")))
        for source in sorted(folder.glob("*.png")):
            target = images / f"results_{label.replace('/', '_')}_{source.name}"
            shutil.copyfile(source, target)
            parts.append(f"<img src='img/{target.name}' alt='results/{html.escape(label)}: {html.escape(source.stem)}'>")
    return parts


def write_report(report_dir: Path, results: dict, scale: str, total_s: float, command: str) -> Path:
    report_dir = Path(report_dir)
    images = report_dir / "img"
    images.mkdir(parents=True, exist_ok=True)
    env = environment()
    parts = ["<h1>Adaptive optimizers: demo report</h1>",
             f"<p>{datetime.datetime.now():%Y-%m-%d %H:%M}, scale <b>{scale}</b>, total wall time "
             f"<b>{total_s:.0f} s</b>. Command: <code>{html.escape(command)}</code></p>",
             "<p>TensorBoard for every run: <code>tensorboard --logdir runs</code></p>"]
    for name, result in results.items():
        status = result["status"]
        parts.append(f"<h2>{html.escape(name)} <span class='{status}'>[{status}]</span> "
                     f"<small>{result['wall_s']:.0f} s</small></h2>")
        if status != "ok":
            parts.append(f"<pre class='failed'>{html.escape(result.get('error', ''))}</pre>")
            continue
        parts.append(f"<pre>{html.escape(result['command'])}</pre>")
        if "prepared" in result:
            parts.append(f"<p>data: <code>{html.escape(json.dumps(result['prepared']))}</code></p>")
        parts.append(results_html(Path(result["summary"])))
        for source in result.get("images", []):
            source = Path(source)
            if source.exists():
                target = images / f"{name}_{source.name}"
                shutil.copyfile(source, target)
                parts.append(f"<img src='img/{target.name}' alt='{html.escape(name)}: {html.escape(source.stem)}'>")
    checked_in = checked_in_results(images)
    if checked_in:
        parts.append("<h2>Checked-in benchmark results</h2><p>The long, multi-seed runs committed under "
                     "<code>results/</code> with their commands (see each folder's README or summary.json), "
                     "beside this demo's own short live run above.</p>")
        parts.extend(checked_in)
    parts.append("<h2>Environment</h2><table>" + "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in env.items()) + "</table>")
    page = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Demo report</title>"
            f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>")
    index = report_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    (report_dir / "results.json").write_text(json.dumps({"scale": scale, "total_s": total_s, "stages": results,
                                                         "environment": env}, indent=1, default=str))
    return index
