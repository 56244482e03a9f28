"""The NMT benchmark protocol end to end on a sliver of the Bible (bible-tiny: seconds per run)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from nmt import benchmark
from suite_results.stats import spread

CANDIDATES = ["adam", "adashift-transformer"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    summary = benchmark.run_benchmark("bible-tiny", root, CANDIDATES)
    return root, summary


@pytest.mark.slow
def test_grid_picks_the_lr_with_the_best_validation_loss(tiny):
    _, summary = tiny
    for candidate in CANDIDATES:
        grid = summary["lr_grid"][candidate]
        assert [g["lr"] for g in grid] == benchmark.CANDIDATES[candidate][1]
        best = min(grid, key=lambda g: g["best_valid_loss"])
        assert summary["optimizers"][candidate]["lr"] == best["lr"]


@pytest.mark.slow
def test_every_test_sentence_is_scored_and_the_summary_equals_the_runs(tiny):
    root, summary = tiny
    on_disk = json.loads((root / "results" / "nmt" / "bible-tiny" / "summary.json").read_text())
    assert on_disk["optimizers"].keys() == set(CANDIDATES)
    for key in ("benchmark", "definition", "lr_grid", "optimizers", "versions", "machine", "command", "verdicts",
                "cpu_hours"):
        assert key in on_disk, key
    for candidate, entry in on_disk["optimizers"].items():
        assert entry["seeds"] == [1, 2] and len(entry["runs"]) == 2
        bleus = []
        for row in entry["runs"]:
            assert row["sentences"] == 23  # not a multiple of fairseq's default batch multiple 8
            scores = json.loads((Path(row["run_dir"]) / "scores.json").read_text())
            assert scores["bleu"] == row["bleu"] and scores["sentences"] == 23
            bleus.append(row["bleu"])
            assert row["command"].count("--lr ") == 1 and f"--lr {entry['lr']!r}" in row["command"]
        assert entry["bleu"] == spread(bleus)
        assert all("--optimizer-diagnostics 10" in row["command"] for row in entry["runs"])
    assert (root / "results" / "nmt" / "bible-tiny" / "valid_loss.png").stat().st_size > 10_000
    table = (root / "results" / "nmt" / "bible-tiny" / "results.md").read_text()
    assert "| adam |" in table and "Verdicts" in table


@pytest.mark.slow
def test_rerun_reuses_rows_and_changed_options_are_not_reused(tiny, monkeypatch):
    root, summary = tiny
    rows = root / "results" / "nmt" / "bible-tiny" / "runs"
    before = sorted(p.name for p in rows.iterdir())
    again = benchmark.run_benchmark("bible-tiny", root, CANDIDATES)
    assert sorted(p.name for p in rows.iterdir()) == before  # nothing trained again
    assert again["optimizers"]["adam"]["bleu"] == summary["optimizers"]["adam"]["bleu"]
    changed = dataclasses.replace(benchmark.BENCHMARKS["bible-tiny"], full_updates=6, seeds=(1,))
    monkeypatch.setitem(benchmark.BENCHMARKS, "bible-tiny", changed)
    other = benchmark.run_benchmark("bible-tiny", root, ["adam"])
    new_rows = sorted(set(p.name for p in rows.iterdir()) - set(before))
    assert len(new_rows) == 4  # 3 tuning runs + 1 full run of the changed definition
    assert other["optimizers"]["adam"]["runs"][0]["updates"] == 6


@pytest.mark.slow
def test_no_train_rewrites_the_results_from_the_committed_rows(tiny):
    root, summary = tiny
    out = root / "results" / "nmt" / "bible-tiny"
    (out / "results.md").unlink()
    (out / "tables.json").unlink()
    rewritten = benchmark.run_benchmark("bible-tiny", root, [*CANDIDATES, "sgd"], train=False)
    assert rewritten["optimizers"]["adam"]["bleu"] == summary["optimizers"]["adam"]["bleu"]
    assert "sgd" not in rewritten["optimizers"] and rewritten["lr_grid"]["sgd"] == []  # no rows: nothing trained
    assert not any("sgd" in p.name for p in (root / "runs" / "nmt" / "bench" / "bible-tiny").iterdir())
    assert "| adam |" in (out / "results.md").read_text() and (out / "tables.json").exists()


@pytest.mark.slow
def test_tune_only_trains_the_grids_and_partial_results_show_every_row(tmp_path, monkeypatch):
    benchmark.run_benchmark("bible-tiny", tmp_path, ["sgd"], tune_only=True)
    written, write = [], benchmark.write_results
    monkeypatch.setattr(benchmark, "write_results", lambda *a: written.append(
        {c: len(rows) for c, rows in a[3].items() if rows}) or write(*a))
    summary = benchmark.run_benchmark("bible-tiny", tmp_path, ["adam"], tune_only=True)
    rows = sorted(p.name for p in (tmp_path / "results" / "nmt" / "bible-tiny" / "runs").iterdir())
    assert len(rows) == 6 and all("-tune-" in r for r in rows)
    assert len(summary["lr_grid"]["adam"]) == 3 and not summary["optimizers"].get("adam", {}).get("runs")
    # rewritten after each of adam's 3 new rows (and once at the end), sgd's earlier rows in every one:
    # --candidates chooses what trains, not what the results keep
    assert written == [{"adam": 1, "sgd": 3}, {"adam": 2, "sgd": 3}, {"adam": 3, "sgd": 3}, {"adam": 3, "sgd": 3}]


def test_the_sweep_trains_every_grid_then_the_full_runs_seed_by_seed(tmp_path, monkeypatch):
    trained = []

    def fake_run(bench, name, data, runs, results, candidate, phase, lr, seed, train=True):
        if not train:
            return None
        trained.append((phase, candidate, seed))
        return {"candidate": candidate, "phase": phase, "lr": lr, "seed": seed, "best_valid_loss": -lr}

    monkeypatch.setattr(benchmark, "run_row", fake_run)
    monkeypatch.setattr(benchmark, "prepare", lambda *a, **k: {})
    monkeypatch.setattr(benchmark, "write_results", lambda *a: {})
    benchmark.run_benchmark("bible-tiny", tmp_path, ["fairseq-adam", "sgd", "adam"])
    assert trained == [*[("tune", "sgd", 1)] * 3, *[("tune", "adam", 1)] * 3,
                       *[("full", c, s) for s in (1, 2) for c in ("sgd", "adam", "fairseq-adam")]]
    trained.clear()
    benchmark.run_benchmark("bible-tiny", tmp_path, ["sgd"], tune_only=True)
    assert trained == [("tune", "sgd", 1)] * 3


def test_verdicts_say_pending_until_the_runs_exist():
    summary = {"optimizers": {"adam": {"bleu": spread([25.0, 26.0])}}}
    verdicts = benchmark.verdicts(summary)
    assert all(v["verdict"] == "pending" for v in verdicts)
    summary["optimizers"]["adashift-paper"] = {"bleu": spread([24.0, 24.2])}
    shift = next(v for v in benchmark.verdicts(summary) if v["claim"].startswith("adashift-paper"))
    assert shift["verdict"] == "not reproduced" and "24.10 vs Adam 25.50" in shift["measured"]


def test_verdicts_give_the_per_seed_difference():
    runs = lambda *bleus: [{"seed": seed, "bleu": b} for seed, b in enumerate(bleus, 1)]
    summary = {"optimizers": {"adam": {"bleu": spread([30.0, 29.0]), "runs": runs(30.0, 29.0)},
                              "adashift-paper": {"bleu": spread([28.0, 28.5]), "runs": runs(28.0, 28.5)}}}
    shift = benchmark.verdicts(summary)[0]
    assert shift["verdict"] == "not reproduced"
    assert shift["measured"] == "adashift-paper 28.25 vs Adam 29.50 BLEU; per seed -1.25 [-2.00, -0.50] (2 seeds)"
