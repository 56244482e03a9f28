"""The WGAN critic benchmark protocol on the toy data (seconds)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gan import benchmark


def test_box_smoothing_matches_a_plain_loop():
    values = np.arange(10.0)
    expected = [np.mean(values[max(0, i - 2):i + 1]) for i in range(10)]
    assert np.allclose(benchmark.smooth(values, 3), expected)


@pytest.mark.slow
def test_toy_benchmark_protocol(tmp_path):
    summary = benchmark.run_benchmark("toy-critic", tmp_path)
    bench = benchmark.BENCHMARKS["toy-critic"]
    for optimizer in bench.optimizers:
        grid = summary["lr_grid"][optimizer]
        base = bench.lr_for(optimizer)
        lrs = [g["lr"] for g in grid]
        assert all(any(abs(lr - v) < 1e-12 for lr in lrs) for v in (base / 3, base, base * 3))  # grown from these
        authors = summary["at_authors_lr"][optimizer]
        assert authors["lr"] == pytest.approx(base) and authors["seeds"] == [0, 1]
        best = summary["at_best_grid_lr"][optimizer]
        finished = [g for g in grid if not g["diverged"]]
        assert best["lr"] == min(finished, key=lambda g: g["final_smoothed_loss"])["lr"]
        choice = summary["grid_choice"][optimizer]
        assert choice["lr"] == best["lr"] and not best["provisional"]
        # interior (a worse or diverged value on both sides), or the grid's size limit says why not
        assert choice["at_grid_edge"] is None or "limit" in choice["note"]
        finals = [r["final_smoothed_loss"] for r in authors["runs"]]
        assert authors["final_smoothed_loss"]["mean"] == pytest.approx(np.mean(finals))
    on_disk = json.loads((tmp_path / "results" / "gan" / "toy-critic" / "summary.json").read_text())
    assert on_disk["verdicts"] and on_disk["verdicts"][0]["claim"].startswith("AdaShift")
    assert (tmp_path / "results" / "gan" / "toy-critic" / "critic_loss.png").stat().st_size > 10_000
    from gan.train import GANConfig, _parser

    run = authors["runs"][1]
    config = GANConfig(**vars(_parser().parse_args(run["command"].split()[3:])))  # the recorded command parses
    assert (config.critic_optimizer, config.critic_lr, config.seed, config.fixed_generator) == (
        optimizer, run["lr"], run["seed"], True)
    assert run["train_seconds"] > 0 and on_disk["wall_hours"] > 0
    # the row names its run and command relative to the root: a checked-in row names no one's folder
    assert str(tmp_path) not in json.dumps(run) and (tmp_path / run["run_dir"]).is_dir()
    assert run["machine"]["cores"] >= 1 and run["machine"]["cpu"]  # where its train_seconds were spent
    assert on_disk["run_machines"] == f"{on_disk['distinct_runs']} on {run['machine']['cpu']}"
    assert on_disk["run_code"].startswith(f"{on_disk['distinct_runs']} at ")  # every row says the code that made it
    assert on_disk["run_code"] in (tmp_path / "results" / "gan" / "toy-critic" / "results.md").read_text()
    rows = sorted(p.name for p in (tmp_path / "results" / "gan" / "toy-critic" / "runs").iterdir())
    benchmark.run_benchmark("toy-critic", tmp_path)  # reuses every row
    assert sorted(p.name for p in (tmp_path / "results" / "gan" / "toy-critic" / "runs").iterdir()) == rows


@pytest.mark.slow
def test_no_train_rewrites_the_results_from_the_rows_there_are(tmp_path):
    summary = benchmark.run_benchmark("toy-critic", tmp_path, optimizers=["adam"])
    out = tmp_path / "results" / "gan" / "toy-critic"
    (out / "summary.json").unlink()
    (out / "results.md").unlink()
    rewritten = benchmark.run_benchmark("toy-critic", tmp_path, optimizers=["adam", "adashift"], train=False)
    assert rewritten["at_authors_lr"] == summary["at_authors_lr"]  # adashift has no rows: left out, not trained
    assert not any(p.name.startswith("adashift") for p in (tmp_path / "runs" / "gan" / "bench" / "toy-critic").iterdir())
    assert "adam" in (out / "results.md").read_text() and json.loads((out / "tables.json").read_text())["blocks"]
    empty = benchmark.run_benchmark("toy-critic", tmp_path / "empty", train=False)
    assert empty["at_authors_lr"] == {} and empty["verdicts"] == []


@pytest.mark.slow
def test_plan_lists_the_runs_with_their_hours_and_writes_nothing(tmp_path, capsys):
    fresh = benchmark.run_benchmark("toy-critic", tmp_path / "fresh", plan=True)
    assert not (tmp_path / "fresh").exists()
    assert fresh["plan"] and all(p["cpu_hours"] is None and p["for"] == "protocol" for p in fresh["plan"])
    assert "unknown" in capsys.readouterr().out  # no row to time them by
    benchmark.run_benchmark("toy-critic", tmp_path, optimizers=["adam"])
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    planned = benchmark.run_benchmark("toy-critic", tmp_path, optimizers=["adam", "adashift"], plan=True)["plan"]
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before
    assert planned and all(p["run"].startswith("adashift") for p in planned)  # adam's rows are all there
    rows = (tmp_path / "results" / "gan" / "toy-critic" / "runs").glob("*.json")
    hours = [json.loads(p.read_text())["train_seconds"] / 3600 for p in rows]
    assert all(min(hours) <= p["cpu_hours"] <= max(hours) for p in planned)  # timed by adam's rows here
    out = capsys.readouterr().out
    assert f"{len(planned)} run(s) the protocol needs now" in out and "total: at least" in out


def test_verdicts_wait_for_every_seed_and_compare_seed_by_seed():
    rows = lambda *losses: [{"seed": seed, "final_smoothed_loss": v} for seed, v in enumerate(losses)]
    seeds = (0, 1, 2)
    table = {"adam": rows(-1.0, -1.1, -1.2), "amsgrad": rows(-2.0), "adashift": rows(-3.0, -3.2, -3.1)}
    first, second = benchmark.verdicts(table, seeds=seeds, where="x")
    assert first["verdict"] == "pending" and second["verdict"] == "pending"  # amsgrad has 1 of 3 seeds
    table["amsgrad"] = rows(-2.0, -2.1, -2.0)
    assert [v["verdict"] for v in benchmark.verdicts(table, seeds=seeds, where="x")] == ["reproduced", "reproduced"]
    table["adam"] = rows(-5.0, -5.0, -5.1)
    assert [(v["verdict"], v["detail"]) for v in benchmark.verdicts(table, seeds=seeds, where="x")] == [
        ("not reproduced", "adam below adashift"), ("not reproduced", "adam below amsgrad")]
    # seeds far apart, but AMSGrad below Adam on each: the paired difference decides, not the two means
    table = {"adam": rows(-100.0, -900.0, -500.0), "amsgrad": rows(-101.0, -902.0, -501.5)}
    (verdict,) = benchmark.verdicts(table, seeds=seeds, where="x")
    assert verdict["verdict"] == "reproduced" and "amsgrad - adam per seed: -1.5" in verdict["measured"]
    table["amsgrad"] = rows(-101.0, -899.0, -500.0)
    (verdict,) = benchmark.verdicts(table, seeds=seeds, where="x")
    # differences -1, +1, 0: the 90% interval lies well inside the benchmark's margin of 10
    assert (verdict["verdict"], verdict["detail"]) == ("not reproduced", "no difference as large as 10")
    # the evidence: 1 apart on the same seed on average (1, 1, 0), against a seed-to-seed std of ~400
    assert verdict["why"].startswith("on the same seed the 2 optimizers end 1 apart on average (max - min over 3 "
                                     "seeds), while one optimizer's loss moves by 400 (std)") and "lowest mean is amsgrad" in verdict["why"]


def test_a_claim_names_the_clear_reversal():
    rows = lambda *losses: [{"seed": seed, "final_smoothed_loss": v} for seed, v in enumerate(losses)]
    # AdaShift ties with Adam (differences -1, +1, -0.5) but ADOPT is below it on every seed
    table = {"adashift": rows(-100.0, -900.0, -500.0), "adam": rows(-99.0, -901.0, -499.5),
             "adopt": rows(-110.0, -909.0, -511.0)}
    first = benchmark.verdicts(table, seeds=(0, 1, 2), where="x")[0]
    assert first["verdict"] == "not reproduced" and "adopt below adashift" in first["detail"], first
    assert "lowest mean is adopt's" in first["why"]
