"""python -m suite_results.changes: the verdicts and runs a revision range added, from git and the rows."""

from __future__ import annotations

import json
import subprocess

import pytest

from suite_results import changes

PAGE = "results/nmt/bible-cpu"


def git(root, *args):
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def summary(root, verdicts):
    (root / PAGE).mkdir(parents=True, exist_ok=True)
    (root / PAGE / "summary.json").write_text(json.dumps({"verdicts": verdicts}))


def row(root, name, **fields):
    (root / PAGE / "runs").mkdir(parents=True, exist_ok=True)
    (root / PAGE / "runs" / name).write_text(json.dumps(fields))


@pytest.fixture
def repo(tmp_path):
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "t@example.org")
    git(tmp_path, "config", "user.name", "t")
    summary(tmp_path, [{"claim": "A beats B", "verdict": "inconclusive", "n": [3]},
                       {"claim": "C within m of D", "verdict": "reproduced", "n": [3]}])
    row(tmp_path, "old.json", wall_s=100.0)
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "start")
    return tmp_path


def test_changed_verdicts_with_their_seeds_and_the_runs_added_with_their_hours(repo):
    summary(repo, [{"claim": "A beats B", "verdict": "reproduced", "n": [5]},
                   {"claim": "C within m of D", "verdict": "reproduced", "n": [3]},
                   {"claim": "E new", "verdict": "pending", "n": []}])
    row(repo, "committed.json", wall_s=3600.0)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a row")
    row(repo, "uncommitted.json", train_seconds=1800.0)
    row(repo, "untimed.json")
    assert changes.verdict_changes(repo, "HEAD~1") == [
        ["bible-cpu", "A beats B", "inconclusive (3)", "reproduced (5)"],
        ["bible-cpu", "E new", "-", "pending"]]  # unchanged claims only with everything=True
    assert len(changes.verdict_changes(repo, "HEAD~1", everything=True)) == 3
    assert changes.added_rows(repo, "HEAD~1") == {PAGE: [3600.0, 1800.0, None]}  # old.json was there
    text = changes.report(repo, "HEAD~1")
    assert "| results/nmt/bible-cpu | 3 | 1.50 | 1 |" in text and "| total | 3 | 1.50 | 1 |" in text


def test_nothing_changed_says_so(repo):
    text = changes.report(repo, "HEAD")
    assert "No verdict changed." in text and "No run added." in text


def test_a_bad_revision_or_folder_is_one_line(repo, tmp_path_factory, capsys):
    for argv, said in ((["nosuch", "--root", str(repo)], "unknown git revision 'nosuch'"),
                       (["HEAD", "--root", str(tmp_path_factory.mktemp("plain"))], "is not a git checkout")):
        with pytest.raises(SystemExit) as stop:
            changes.main(argv)
        err = capsys.readouterr().err
        assert stop.value.code == 2 and said in err and len(err.strip().splitlines()) == 1
