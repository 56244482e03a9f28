"""The documentation site builds with ``mkdocs build --strict`` (a broken link or a missing API
reference fails), its results pages are the checked-in files, and the README stays short."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MKDOCS = [sys.executable, "-m", "mkdocs", "build", "--strict"]
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}

pytestmark = pytest.mark.skipif(shutil.which("mkdocs", path=str(Path(sys.executable).parent)) is None,
                                reason="mkdocs is not installed (scripts/setup_env.sh installs it)")


@pytest.mark.integration
def test_the_site_builds_strictly_with_the_api_reference_and_the_checked_in_results(tmp_path):
    site = tmp_path / "site"
    done = subprocess.run([*MKDOCS, "-d", str(site)], cwd=REPO, env=ENV, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    api = (site / "api" / "optim_plugins" / "index.html").read_text()
    assert "build_optimizer" in api and "keep_num" in api  # generated from the docstrings
    assert "tune" in (site / "api" / "suite_results" / "index.html").read_text()
    # a results page is the checked-in results.md itself, with its figure beside it
    table_line = next(line for line in (REPO / "results" / "nmt" / "bible-cpu" / "results.md").read_text().splitlines()
                      if line.startswith("| adam |"))
    page = (site / "results" / "nmt" / "bible-cpu" / "results" / "index.html").read_text()
    assert table_line.split("|")[2].strip() in page
    assert (site / "results" / "nmt" / "bible-cpu" / "valid_loss.png").is_file()
    assert not (site / "hooks.py").exists()


def test_a_broken_link_fails_the_strict_build(tmp_path):
    """What keeps the docs from rotting: --strict turns mkdocs' link warnings into a failure."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Home\n\nSee [the optimizers](optimizers.md).\n")
    (tmp_path / "mkdocs.yml").write_text("site_name: t\nnav:\n  - Home: index.md\n")
    done = subprocess.run(MKDOCS, cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "optimizers.md" in done.stderr


def test_every_docs_page_is_in_the_nav_and_the_readme_reads_in_two_minutes():
    nav = (REPO / "mkdocs.yml").read_text()
    pages = sorted(p.relative_to(REPO / "docs").as_posix() for p in (REPO / "docs").rglob("*.md"))
    assert [p for p in pages if p not in nav] == []
    readme = (REPO / "README.md").read_text()
    words = len(re.findall(r"\S+", readme))
    assert words < 1500, f"README.md has {words} words; move detail into docs/"
    links = re.findall(r"\]\(([^)#]+)\)", readme)
    assert links and [link for link in links if not (REPO / link).exists()] == []  # the README's links into docs/
