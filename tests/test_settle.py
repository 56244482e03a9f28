"""``optim-suite settle``: a user's own optimizer class, by import path, through theory and the tiny
benchmark twins, with its page written; bad input is one line and nothing is trained."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent


def settle(*args, root: Path, check=True):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), str(ROOT), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-m", "optim_suite", "settle", *args, "--root", str(root)], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=1800)
    if check:
        assert result.returncode == 0, result.stderr[-4000:]
    return result


@pytest.mark.integration
def test_a_user_optimizer_goes_through_theory_and_the_tiny_twins_by_import_path(tmp_path):
    result = settle("--optimizer", "user_optimizer:SignMomentum", "--set", "momentum=0.5", "--lr-grid", "1e-3", "3e-3",
                    "1e-2", "--theory-scale", "tiny", "--benchmarks", "theory", "toy-critic", "bible-lstm-tiny",
                    root=tmp_path)
    page = tmp_path / "results" / "settle" / "signmomentum"
    summary = json.loads((page / "summary.json").read_text())
    assert summary["candidate"]["optimizer"] == "user_optimizer:SignMomentum"
    assert set(summary["benchmarks"]) == {"toy-critic", "bible-lstm-tiny"}
    verdicts = {v["claim"]: v["verdict"] for v in summary["verdicts"]}
    assert all(v in ("reproduced", "not reproduced", "inconclusive", "pending") for v in verdicts.values())
    assert any(c.startswith("theory: goes the right way on the stochastic") for c in verdicts)
    assert any(c.startswith("bible-lstm-tiny: signmomentum better than tuned Adam") for c in verdicts)
    assert any(c.startswith("toy-critic: signmomentum within") for c in verdicts)
    assert summary["speed"]["candidate"]["state_bytes_per_param"] == pytest.approx(4.0, rel=0.01)  # one buffer
    assert summary["theory"]["cpu_hours"] > 0 and summary["benchmarks"]["toy-critic"]["cpu_hours"] > 0
    assert [e["benchmark"] for e in summary["estimate"]] == ["theory", "toy-critic", "bible-lstm-tiny"]
    assert "bible-lstm-tiny" in summary["profile"] or summary["profile"] == {} or "signmomentum" in summary["profile"]
    text = (page / "results.md").read_text()
    assert "Settle: `signmomentum`" in text and "Performance profile" in text and (page / "profile.png").exists()
    # the candidate's rows sit beside the benchmark's, under candidates/: the benchmark's own page ignores them
    rows = list((tmp_path / "results" / "gan" / "toy-critic" / "candidates" / "signmomentum").glob("*.json"))
    assert rows and all(json.loads(r.read_text())["optimizer"] == "signmomentum" for r in rows)
    assert "signmomentum" in result.stdout
    # resumed, the estimate says what is left from the rows made: nothing, then exactly a lost row
    again = ["--optimizer", "user_optimizer:SignMomentum", "--set", "momentum=0.5", "--lr-grid", "1e-3", "3e-3", "1e-2",
             "--benchmarks", "toy-critic", "--dry-run"]
    assert "nothing left to run" in settle(*again, root=tmp_path).stderr
    lost = json.loads(rows[0].read_text())
    rows[0].unlink()
    estimate = settle(*again, root=tmp_path).stderr
    assert "left now: 1 run(s)" in estimate and f"signmomentum lr {lost['lr']:g} seed {lost['seed']}" in estimate


@pytest.mark.parametrize("args,expected", [
    (["--optimizer", "user_optimizer:Missing"], "user_optimizer has no 'Missing'"),
    (["--optimizer", "no_such_module:Opt"], "cannot import 'no_such_module'"),
    (["--optimizer", "user_optimizer:NotAnOptimizer"], "is not a torch.optim.Optimizer subclass"),
    (["--optimizer", "user_optimizer:SignMomentum", "--set", "beta=0.9"], "does not take beta"),
    (["--optimizer", "torch.optim:NAdam", "--set", "oops"], "--set 'oops': expected key=value"),
    (["--optimizer", "torch.optim:NAdam", "--set", "lr=0.1"], "lr is what the protocol tunes"),
    (["--optimizer", "torch.optim:NAdam", "--set", "eps=-1"], "Invalid epsilon value: -1"),
    (["--optimizer", "torch.optim:NAdam", "--name", "../../evil"], "candidate name '../../evil'"),
    (["--optimizer", "torch.optim:NAdam", "--benchmarks", "theory", "theory"], "--benchmarks lists ['theory'] more than once"),
])
def test_bad_input_is_one_line_and_nothing_is_trained(tmp_path, args, expected):
    benchmarks = [] if "--benchmarks" in args else ["--benchmarks", "theory", "toy-critic"]
    result = settle(*args, *benchmarks, root=tmp_path, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert expected in result.stderr.strip().splitlines()[-1], result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_dry_run_lists_runs_and_hours_and_trains_nothing(tmp_path):
    before = sorted(p.relative_to(ROOT) for p in (ROOT / "results").rglob("*"))
    result = subprocess.run([sys.executable, "-m", "optim_suite", "settle", "--optimizer", "torch.optim:NAdam",
                             "--name", "nadam-dry-run-test", "--benchmarks", "theory", "fmnist-resnet", "fmnist-critic",
                             "bible-cpu", "--dry-run"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for benchmark in ("fmnist-resnet", "fmnist-critic", "bible-cpu"):
        line = next(line for line in result.stderr.splitlines() if line.strip().startswith(benchmark))
        assert "CPU h" in line and "full" in line
    assert not (ROOT / "results" / "settle" / "nadam-dry-run-test").exists()
    assert sorted(p.relative_to(ROOT) for p in (ROOT / "results").rglob("*")) == before


def test_the_step_time_says_its_threads_and_whether_other_work_ran_beside_it():
    from optim_suite import settle as settle_module  # noqa: PLC0415

    speed = settle_module.step_speed("torch.optim:NAdam", {}, params=3e5, rounds=3)
    assert speed["threads"] >= 1 and speed["cores"] >= 1
    assert speed["others_busy_cores"] is None or speed["others_busy_cores"] >= 0
    page = {"candidate": {"name": "nadam", "optimizer": "torch.optim:NAdam", "settings": {}, "lr_grid": [1e-3]},
            "command": "optim-suite settle --optimizer torch.optim:NAdam --benchmarks theory", "benchmarks": {},
            "verdicts": [], "speed": dict(speed, others_busy_cores=1.9, cores=2, threads=1)}
    text = settle_module.document(page).markdown()
    assert "1 thread on 2 cores" in text and "kept 1.9 of 2 cores busy" in text
    assert ("`bash scripts/with_sweeps_paused.sh optim-suite settle --optimizer torch.optim:NAdam --benchmarks "
            "theory --no-train`") in text
    page["speed"]["others_busy_cores"] = 0.02
    assert "0.02 cores busy meanwhile (idle)" in settle_module.document(page).markdown()
    del page["speed"]["others_busy_cores"], page["speed"]["threads"]  # a page written before they were recorded
    assert "Whether other work ran beside it was not recorded" in settle_module.document(page).markdown()


def test_a_map_equal_to_adams_says_why_and_a_different_one_does_not():
    from optim_suite import settle as settle_module  # noqa: PLC0415

    adam = {"critical_c": 31.0, "mean_theta": {"3.0": -1.06, "31.0": 0.0641}}
    page = {"candidate": {"name": "nadam", "optimizer": "torch.optim:NAdam", "settings": {}, "lr_grid": [1e-3]},
            "command": "optim-suite settle --optimizer torch.optim:NAdam --benchmarks theory", "benchmarks": {},
            "verdicts": [], "theory": {"critical_c": {"candidate": {"critical_c": 31.0, "mean_theta": {"3.0": -1.06 * (1 + 1e-15),
                                                                                  "31.0": 0.0641}}, "adam": adam}}}
    assert "numbers are Adam's (to 1e-9" in settle_module.document(page).markdown()
    page["theory"]["critical_c"]["candidate"] = {"critical_c": None, "mean_theta": {"3.0": -1.1, "31.0": -0.2}}
    text = settle_module.document(page).markdown()
    assert "numbers are Adam's" not in text and "none on the grid" in text
