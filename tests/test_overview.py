"""Nothing in the README, the docs or a results page is typed by hand: each is checked against the
checked-in summary it comes from (suite_results.overview, each benchmark's ``document``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from suite_results import overview

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_and_docs_blocks_are_the_summaries():
    assert overview.stale(ROOT) == [], "run: python -m suite_results.overview"


@pytest.mark.parametrize("page", overview.PAGES, ids=lambda p: p.name)
def test_every_checked_in_page_is_its_summary(page):
    from gan.benchmark import document as gan_document
    from nmt.benchmark import document as nmt_document
    from vision.benchmark import document as vision_document

    render = {"nmt": nmt_document, "vision": vision_document, "gan": gan_document}[page.folder.split("/")[1]]
    folder = ROOT / page.folder
    summary = json.loads((folder / "summary.json").read_text())
    assert render(summary).markdown() == (folder / "results.md").read_text(), \
        f"{page.folder}/results.md is stale: rewrite it with the benchmark's --no-train"


@pytest.mark.parametrize("lstm", ["bible-lstm-cpu"])
def test_the_cross_architecture_line_reads_the_transformer_page_as_checked_in(lstm):
    """An LSTM page's cross-architecture verdict is made from its Transformer page's summary: a rewrite
    of the Transformer page (bible-cpu) leaves it stale until the LSTM page is rewritten too."""
    from nmt.benchmark import TRANSFORMER_OF, cross_architecture

    own = json.loads((ROOT / "results" / "nmt" / lstm / "summary.json").read_text())["verdicts"]
    other = TRANSFORMER_OF[lstm]
    theirs = json.loads((ROOT / "results" / "nmt" / other / "summary.json").read_text())["verdicts"]
    line = next(v for v in own if v["claim"].startswith("cross-architecture"))
    expected = cross_architecture([v for v in own if v is not line], theirs, other)
    assert {k: line[k] for k in ("verdict", "detail", "measured")} == \
        {k: expected[k] for k in ("verdict", "detail", "measured")}, \
        f"results/nmt/{lstm} is stale against results/nmt/{other}: python -m nmt benchmark --benchmark {lstm} --no-train"


def test_every_verdict_is_one_of_the_four(tmp_path):
    for page in overview.PAGES:
        summary = json.loads((ROOT / page.folder / "summary.json").read_text())
        for v in summary["verdicts"]:
            assert v["verdict"] in ("reproduced", "not reproduced", "inconclusive", "pending"), (page.name, v)
            if v["verdict"] != "pending" and not v["claim"].startswith("cross-architecture"):
                assert v["rule"] and v["n"], (page.name, v["claim"])  # the page states its rule and n


def test_a_changed_summary_makes_the_readme_stale(tmp_path):
    for target in overview.TARGETS:
        (tmp_path / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / target, tmp_path / target)
    for page in overview.PAGES:
        (tmp_path / page.folder).mkdir(parents=True)
        shutil.copy(ROOT / page.folder / "summary.json", tmp_path / page.folder / "summary.json")
    (tmp_path / overview.THEORY).mkdir(parents=True)
    shutil.copy(ROOT / overview.THEORY / "summary.csv", tmp_path / overview.THEORY / "summary.csv")
    for settled in (ROOT / "results" / "settle").glob("*/summary.json"):  # optim-suite settle's pages
        (tmp_path / settled.parent.relative_to(ROOT)).mkdir(parents=True)
        shutil.copy(settled, tmp_path / settled.relative_to(ROOT))
    assert overview.stale(tmp_path) == []
    path = tmp_path / overview.PAGES[0].folder / "summary.json"
    summary = json.loads(path.read_text())
    summary["verdicts"][0]["verdict"] = "inconclusive" if summary["verdicts"][0]["verdict"] != "inconclusive" \
        else "reproduced"
    path.write_text(json.dumps(summary))
    assert "README.md: block results" in overview.stale(tmp_path)
    assert overview.main(["--check", "--root", str(tmp_path)]) == 1
    assert overview.main(["--root", str(tmp_path)]) == 0 and overview.stale(tmp_path) == []


def test_an_unknown_block_is_an_error():
    with pytest.raises(ValueError, match="unknown generated block 'nosuch'"):
        overview.render("<!-- generated:nosuch -->\nx\n<!-- /generated:nosuch -->\n", {"results": ""})


def test_a_folder_without_the_readme_or_docs_is_one_line_not_all_fresh(tmp_path, capsys):
    for argv in (["--check", "--root", str(tmp_path)], ["--root", str(tmp_path)]):
        with pytest.raises(SystemExit) as stop:
            overview.main(argv)
        err = capsys.readouterr().err
        assert stop.value.code == 2 and "run it from the repository's root" in err and len(err.splitlines()) == 1


def test_a_settle_block_gives_its_cpu_hours_estimated_and_spent():
    from suite_results.overview import _settle_cost  # noqa: PLC0415

    page = {"estimate": [{"benchmark": "theory", "runs": "counterexamples", "cpu_hours": 0.05},
                         {"benchmark": "fmnist-resnet", "runs": "4 grid + 5 full (at least)", "cpu_hours": 1.97},
                         {"benchmark": "bible-tiny", "runs": "twice the candidate's", "cpu_hours": None}],
            "benchmarks": {"fmnist-resnet": {"cpu_hours": 2.5}}, "theory": {"cpu_hours": 0.04}}
    lines = _settle_cost(page).splitlines()
    assert "| theory | counterexamples | 0.05 | 0.04 |" in lines
    assert "| fmnist-resnet | 4 grid + 5 full (at least) | 1.97 | 2.50 |" in lines
    assert "| bible-tiny | twice the candidate's | unknown | unknown |" in lines  # not trained yet, no rows to time
    assert _settle_cost({"benchmarks": {}}) == ""  # a page written before it kept its estimate
