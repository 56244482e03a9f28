"""What the checked-in results gained since a git revision: each benchmark's verdicts before and now,
with the seeds behind each (n), and the runs added with the CPU hours their rows record.

    python -m suite_results.changes 358a3a2~1          # the verdicts that changed, then the runs added
    python -m suite_results.changes HEAD~5 --all       # every verdict, changed or not

Made for a progress note or a release note: every number comes from the summaries and the rows
(``summary.json``'s verdicts at the revision, read with ``git show``, against the working tree's; a
row's ``wall_s`` or ``train_seconds``), none typed by hand. A row counts as added when the revision
lacks it and the working tree has it (committed since, or not committed yet).
"""

from __future__ import annotations

import argparse
import json
import subprocess
from collections import defaultdict
from pathlib import Path

from .cli import UserError, run_cli
from .overview import PAGES
from .tables import markdown_table


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    except FileNotFoundError as error:
        raise UserError("git is not installed: the changes are read from the repository's history") from error
    if done.returncode:
        raise UserError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"git {' '.join(args)} failed")
    return done.stdout


def _verdicts(text: str | None) -> dict[str, dict]:
    return {v["claim"]: v for v in json.loads(text).get("verdicts", [])} if text else {}


def _cell(verdict: dict | None) -> str:
    if verdict is None:
        return "-"
    n = verdict.get("n")
    seeds = ", ".join(map(str, n)) if isinstance(n, list) else str(n) if n is not None else ""
    return f"{verdict['verdict']} ({seeds})" if seeds else verdict["verdict"]


def verdict_changes(root: Path, revision: str, everything: bool = False) -> list[list[str]]:
    """One row per claim whose verdict or n differs between ``revision`` and the working tree (every
    claim with ``everything``): page, claim, before (n), now (n); "-" where a side lacks the claim."""
    rows = []
    for page in PAGES:
        path = f"{page.folder}/summary.json"
        listed = _git(root, "ls-tree", "--name-only", revision, path).strip()
        before = _verdicts(_git(root, "show", f"{revision}:{path}") if listed else None)
        now = _verdicts((root / path).read_text() if (root / path).exists() else None)
        for claim in dict.fromkeys([*now, *before]):
            old, new = before.get(claim), now.get(claim)
            if everything or _cell(old) != _cell(new):
                rows.append([page.name, claim, _cell(old), _cell(new)])
    return rows


def added_rows(root: Path, revision: str) -> dict[str, list[float | None]]:
    """The rows added since ``revision`` per results folder (``results/<package>/<benchmark>``): each
    row's recorded seconds (None where it records none)."""
    added = _git(root, "diff", "--name-only", "--diff-filter=A", revision, "--", "results").split()
    added += _git(root, "ls-files", "--others", "--exclude-standard", "--", "results").split()
    found = defaultdict(list)
    for name in sorted(set(added)):
        parts = Path(name).parts
        if not name.endswith(".json") or len(parts) < 5 or parts[3] not in ("runs", "candidates"):
            continue  # results/<package>/<benchmark>/runs/<row>.json or .../candidates/<name>/<row>.json
        row = json.loads((root / name).read_text())
        found["/".join(parts[:3])].append(row.get("wall_s", row.get("train_seconds")))
    return dict(found)


def report(root: Path, revision: str, everything: bool = False) -> str:
    try:
        _git(root, "rev-parse", "--git-dir")
    except UserError as error:
        raise UserError(f"{root} is not a git checkout: the changes are read from its history") from error
    try:
        _git(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    except UserError as error:
        raise UserError(f"unknown git revision {revision!r} in {root} (a commit, a tag, HEAD~N)") from error
    verdicts = verdict_changes(root, revision, everything)
    lines = [f"## Verdicts, {revision} -> now ({'all' if everything else 'changed only'}; n: seeds per comparison)",
             "", *(markdown_table(["page", "claim", f"at {revision} (n)", "now (n)"], verdicts) if verdicts
               else ["No verdict changed."]), "", f"## Runs added since {revision} (CPU hours from the rows' own seconds)", ""]
    runs = added_rows(root, revision)
    table = [[folder, str(len(seconds)), f"{sum(s for s in seconds if s) / 3600:.2f}",
              str(sum(s is None for s in seconds))] for folder, seconds in runs.items()]
    if table:
        every = [s for seconds in runs.values() for s in seconds]
        table.append(["total", str(len(every)), f"{sum(s for s in every if s) / 3600:.2f}",
                      str(sum(s is None for s in every))])
    lines += markdown_table(["results", "rows", "CPU h", "rows without a time"], table) if table \
        else ["No run added."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m suite_results.changes", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("revision", help="a git revision: the results as they were there (e.g. HEAD~3, a tag)")
    parser.add_argument("--all", dest="everything", action="store_true", help="every verdict, changed or not")
    parser.add_argument("--root", type=Path, default=Path("."), help="the repository (default: here)")
    args = parser.parse_args(argv)
    print(run_cli(parser.prog, report, args.root, args.revision, args.everything), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
