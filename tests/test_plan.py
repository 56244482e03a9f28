"""``--plan`` of every benchmark's CLI (suite_results.sweeps.plan): the runs a sweep would make next,
each with its CPU hours from the rows there are, and nothing trained, prepared or written."""

from __future__ import annotations

from pathlib import Path

from nmt.__main__ import main as nmt_main
from suite_results.rows import estimate_hours
from vision.benchmark import main as vision_main
from vision.benchmark import run_benchmark as vision_benchmark

ROOT = Path(__file__).resolve().parent.parent


def test_a_fresh_root_gets_the_first_runs_with_unknown_hours_and_stays_empty(tmp_path, capsys):
    assert nmt_main(["benchmark", "--benchmark", "bible-tiny", "--root", str(tmp_path), "--plan"]) == 0
    vision_main(["--benchmark", "fmnist-tiny", "--root", str(tmp_path), "--plan"])
    assert list(tmp_path.iterdir()) == []  # no data prepared, no page, no run directory
    out = capsys.readouterr().out
    assert "nmt benchmark bible-tiny:" in out and "vision benchmark fmnist-tiny:" in out
    assert "unknown" in out and "run(s) with no row like them to time" in out


def test_the_checked_in_rows_time_every_planned_run(capsys):
    planned = vision_benchmark("fmnist-resnet", ROOT, plan=True)["plan"]  # nothing written: the test above
    assert all(p["cpu_hours"] and p["for"] in ("protocol", "design") for p in planned)
    if not planned:  # every claim's runs are in
        assert "nothing to run" in capsys.readouterr().out


def test_hours_come_from_this_machines_rows_first():
    from suite_results.provenance import machine

    here, there = {"cpu": machine()["cpu"]}, {"cpu": "another CPU"}
    rows = [{"candidate": "adam", "phase": "full", "wall_s": 7200, "machine": there},
            {"candidate": "sgd", "phase": "full", "wall_s": 3600, "machine": here},
            {"candidate": "sgd", "phase": "tune", "wall_s": 360, "machine": here}]
    assert estimate_hours(rows, "adam", "full") == 1.0  # this machine's full runs, not adam's elsewhere
    assert estimate_hours(rows, "adam", "tune") == 0.1
    assert estimate_hours(rows[:1], "adam", "full") == 2.0  # nothing made here: the rows elsewhere
    assert estimate_hours(rows, "adam", "grid") is None
