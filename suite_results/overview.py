"""The results at a glance, generated from the checked-in summaries, never typed by hand: the README's
results table and the docs' per-benchmark blocks.

    python -m suite_results.overview          # rewrite every generated block in README.md and docs/*.md
    python -m suite_results.overview --check  # exit 1, naming each stale block (the tests run this)

A generated block sits between ``<!-- generated:NAME -->`` and ``<!-- /generated:NAME -->`` lines;
everything between them is replaced, everything outside is left alone. Blocks: ``results`` (every
verdict of every benchmark, one row a claim; the theory claims one row per experiment), and per
benchmark ``verdicts:<name>`` and ``candidates:<name>``. Each row names the page it comes from;
prose beside a block interprets a page and says nothing its verdict does not.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from .claims import VERDICTS
from .cli import UserError, run_cli
from .stats import format_spread
from .tables import markdown_table


@dataclass(frozen=True)
class Page:
    """One benchmark's checked-in results: its folder, its label and the metric its candidates table shows."""

    name: str
    folder: str
    label: str
    metric: str  # the summary's per-candidate key: bleu, test_accuracy, final_smoothed_loss
    metric_label: str


PAGES = (
    Page("bible-cpu", "results/nmt/bible-cpu", "NMT, Transformer (Bible en-es)", "bleu", "BLEU"),
    Page("bible-lstm-cpu", "results/nmt/bible-lstm-cpu", "NMT, bi-LSTM (Bible en-es)", "bleu", "BLEU"),
    Page("fmnist-resnet", "results/vision/fmnist-resnet", "image classification (ResNet-8, Fashion-MNIST)",
         "test_accuracy", "test accuracy (%)"),
    Page("fmnist-critic", "results/gan/fmnist-critic", "WGAN critic (Fashion-MNIST)", "final_smoothed_loss",
         "final smoothed critic loss"),
)
THEORY = "results/theory-adopt"
TARGETS = ("README.md", "docs/results.md", "docs/nmt.md", "docs/vision.md", "docs/gan.md", "docs/theory.md",
           "docs/settle.md")
_BLOCK = re.compile(r"(<!-- generated:(?P<name>[^ ]+) -->\n)(?P<body>.*?)(<!-- /generated:(?P=name) -->)", re.S)


def _summary(root: Path, page: Page) -> dict | None:
    path = root / page.folder / "summary.json"
    return json.loads(path.read_text()) if path.exists() else None


def _settle_cost(settled: dict) -> str:
    """A settle page's CPU hours per benchmark: estimated before it trained, and what its own runs took."""
    spent = {b: e.get("cpu_hours") for b, e in settled.get("benchmarks", {}).items()}
    spent["theory"] = settled.get("theory", {}).get("cpu_hours")
    def hours(h):
        return "unknown" if h is None else f"{h:.2f}"
    rows = [[e["benchmark"], e["runs"], hours(e["cpu_hours"]), hours(spent.get(e["benchmark"]))]
            for e in settled.get("estimate", [])]
    return ("\nCPU hours (estimated before training, from the baselines' rows; spent, the candidate's own runs):\n\n"
            + "\n".join(markdown_table(["benchmark", "runs", "estimated CPU h", "spent CPU h"], rows)) + "\n") \
        if rows else ""


def _verdict(v: dict) -> str:
    head = v["verdict"].split(" (", 1)[0]
    return f"**{head}**" if head in VERDICTS else head


def _verdict_rows(page: Page, summary: dict, with_where: bool) -> list[list[str]]:
    rows = []
    for v in summary.get("verdicts", []):
        where = [f"[{page.name}]({page.folder}/results.md)"] if with_where else []
        rows.append([v["claim"], *where, _verdict(v), v.get("detail", ""), v.get("measured", "")])
    return rows


def _theory_rows(root: Path) -> list[list[str]]:
    path = root / THEORY / "summary.csv"
    if not path.exists():
        return []
    groups: dict = {}
    for row in csv.DictReader(path.open()):
        groups.setdefault(row["experiment"], []).append(row)
    out = []
    for experiment, rows in groups.items():
        failed = [r for r in rows if r["verdict"] != "reproduced"]
        verdict = "not reproduced" if failed else "reproduced"
        detail = (f"{len(rows) - len(failed)} of {len(rows)} claims reproduced"
                  + (": not " + "; not ".join(f"'{r['claim']}' ({r['measured']})" for r in failed) if failed else ""))
        out.append([f"the counterexamples: {experiment} ({len(rows)} claims)", f"[theory-adopt]({THEORY}/summary.md)",
                    f"**{verdict}**", detail, ""])
    return out


def blocks(root: Path = Path(".")) -> dict[str, str]:
    """Every generated block's Markdown, from the summaries under ``root``."""
    root = Path(root)
    out: dict[str, str] = {}
    table = _theory_rows(root)
    for page in PAGES:
        summary = _summary(root, page)
        if summary is None:
            continue
        table += [[f"{row[0]} ({page.label})", *row[1:]] for row in _verdict_rows(page, summary, True)]
        out[f"verdicts:{page.name}"] = "\n".join(markdown_table(
            ["claim", "verdict", "detail", "measured"], _verdict_rows(page, summary, False))) + "\n"
        out[f"candidates:{page.name}"] = _candidates(page, summary)
    for page_path in sorted((root / "results" / "settle").glob("*/summary.json")):  # optim-suite settle's pages
        settled = json.loads(page_path.read_text())
        name = settled["candidate"]["name"]
        out[f"settle:{name}"] = (f"From [its page](results/settle/{name}/results.md) (`{settled['command']}`):\n\n"
                                 + "\n".join(markdown_table(["claim", "verdict", "detail", "measured"], [
                                     [v["claim"], _verdict(v), v.get("detail", ""), v.get("measured", "")]
                                     for v in settled["verdicts"]])) + "\n" + _settle_cost(settled))
    out["results-full"] = "\n".join(markdown_table(["claim", "page", "verdict", "detail", "measured"], table)) + "\n"
    out["results"] = "\n".join(markdown_table(["claim", "page", "verdict"],  # the README's: the details are in the docs
                                               [row[:3] for row in table])) + "\n"
    theory = root / THEORY / "summary.csv"
    if theory.exists():
        out["theory"] = "\n".join(markdown_table(["experiment", "claim", "measured", "verdict"], [
            [r["experiment"], r["claim"], r["measured"], f"**{r['verdict']}**"] for r in csv.DictReader(theory.open())
        ])) + "\n"
    return out


def _candidates(page: Page, summary: dict) -> str:
    """Per candidate: its lr, seeds and metric (mean ± std [95% t interval]), from the summary."""
    if "optimizers" in summary:  # nmt, vision
        entries = summary["optimizers"].items()
        rows = [[c, f"{e['lr']:g}" + (" (provisional)" if e.get("provisional") else ""), str(len(e["runs"])),
                 format_spread(e[page.metric])] for c, e in entries]
    else:  # the critic: at the authors' lrs and at each optimizer's best grid lr
        rows = [[f"{o} ({where})", f"{e['lr']:.3g}" + (" (provisional)" if e.get("provisional") else ""),
                 str(len(e["runs"])), format_spread(e[page.metric], significant=4)]
                for key, where in (("at_authors_lr", "authors' lr"), ("at_best_grid_lr", "tuned"))
                for o, e in summary.get(key, {}).items()]
    return "\n".join(markdown_table(["candidate", "lr", "seeds", f"{page.metric_label}, mean ± std [95% t interval]"],
                                    rows)) + "\n"


def render(text: str, generated: dict[str, str]) -> str:
    """``text`` with every generated block's body replaced; an unknown block name is an error."""
    def body(match):
        name = match.group("name")
        if name.startswith("settle:") and name not in generated:  # a settle page not checked in yet
            return match.group(1) + f"Not checked in yet (no results/settle/{name.split(':', 1)[1]}/summary.json).\n" \
                + match.group(4)
        if name not in generated:
            raise ValueError(f"unknown generated block {name!r} (known: {', '.join(sorted(generated))})")
        return match.group(1) + generated[name] + match.group(4)
    return _BLOCK.sub(body, text)


def stale(root: Path = Path(".")) -> list[str]:
    """'FILE: block NAME' for every generated block that differs from what the summaries give."""
    root = Path(root)
    generated = blocks(root)
    out = []
    for target in TARGETS:
        path = root / target
        if not path.exists():
            continue
        text = path.read_text()
        fresh = render(text, generated)
        if fresh != text:
            old = {m.group("name"): m.group("body") for m in _BLOCK.finditer(text)}
            new = {m.group("name"): m.group("body") for m in _BLOCK.finditer(fresh)}
            out += [f"{target}: block {name}" for name in new if old.get(name) != new[name]]
    return out


def update(root: Path = Path(".")) -> list[str]:
    """Rewrite the stale blocks in place; the list of what changed."""
    root = Path(root)
    changed = stale(root)
    generated = blocks(root)
    for target in {c.split(":")[0] for c in changed}:
        path = root / target
        path.write_text(render(path.read_text(), generated))
    return changed


def _check_root(root: Path) -> None:
    """Not the repository: say so, rather than report every block fresh."""
    if not any((root / target).exists() for target in TARGETS):
        raise UserError(f"none of {', '.join(TARGETS[:2])}, ... under {root}: run it from the repository's root "
                        "or name it with --root")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m suite_results.overview", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only say which blocks are stale (exit 1 if any)")
    parser.add_argument("--root", type=Path, default=Path("."))
    args = parser.parse_args(argv)
    run_cli(parser.prog, _check_root, args.root)
    if args.check:
        found = stale(args.root)
        for line in found:
            print(f"stale: {line} (run: python -m suite_results.overview)", file=sys.stderr)
        return 1 if found else 0
    for line in update(args.root):
        print(f"rewrote {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
