"""The sweeps on a real SLURM (scripts/slurm_local.sh starts a one-node cluster; .ci/run does it
before make test): the same rows as the local executor, a cancelled job resubmitted, and a driver
killed and restarted that submits nothing twice. Without a cluster these skip, saying why."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent


def _cluster() -> str | None:
    """Why the SLURM tests cannot run here, or None."""
    if shutil.which("sinfo") is None:
        return "no SLURM here (sudo bash scripts/slurm_local.sh starts a one-node cluster)"
    out = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True)
    if out.returncode or not any(s in out.stdout for s in ("idle", "mix", "alloc")):
        return f"SLURM is installed but no node is up (sinfo: {out.stdout.strip() or out.stderr.strip()})"
    try:
        import submitit  # noqa: F401
    except ImportError:
        return "submitit is not installed (scripts/setup_env.sh installs it)"
    return None


pytestmark = [pytest.mark.integration, pytest.mark.skipif(_cluster() is not None, reason=str(_cluster()))]
NAME = "toy-critic"


def _config(**kwargs):
    from suite_results.slurm import SlurmConfig

    return SlurmConfig(poll_s=0.5, time_min=10, **kwargs)


def _rows(root: Path) -> dict:
    folder = root / "results" / "gan" / NAME / "runs"
    return {p.name: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def _jobs(root: Path) -> dict:
    return json.loads((root / "runs" / "gan" / "bench" / NAME / "slurm" / "slurm-jobs.json").read_text())


def test_the_slurm_executor_gives_the_local_rows_exactly(tmp_path):
    from gan import benchmark

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as a job runs (one CPU per task)
    try:
        benchmark.run_benchmark(NAME, tmp_path / "local", ["adam"], poll_s=0.5)
    finally:
        torch.set_num_threads(threads)
    benchmark.run_benchmark(NAME, tmp_path / "slurm", ["adam"], slurm_config=_config())
    local, cluster = _rows(tmp_path / "local"), _rows(tmp_path / "slurm")
    assert local.keys() == cluster.keys() and len(local) >= 4  # the same runs, by their configuration keys
    for name in local:
        for key in ("final_smoothed_loss", "smoothed_loss", "steps", "lr", "seed"):
            assert local[name][key] == cluster[name][key], (name, key)
    summary = json.loads((tmp_path / "slurm" / "results" / "gan" / NAME / "summary.json").read_text())
    assert summary["distinct_runs"] == len(cluster)  # the driver wrote the pages from the jobs' rows


def _first_running(job_ids_of, timeout=120) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        ids = job_ids_of()
        if ids:
            out = subprocess.run(["squeue", "-h", "-r", "-o", "%i %T", "-j", ",".join(ids)], capture_output=True,
                                 text=True).stdout.split()
            running = [out[i] for i in range(0, len(out), 2) if out[i + 1] == "RUNNING"]
            if running:
                return running[0]
        time.sleep(0.1)
    raise AssertionError("no job of the sweep started running")


def test_a_cancelled_job_is_resubmitted_and_the_sweep_completes(tmp_path):
    from gan import benchmark

    done = {}
    driver = threading.Thread(target=lambda: done.setdefault("summary", benchmark.run_benchmark(
        NAME, tmp_path, ["adam"], slurm_config=_config())))
    driver.start()
    state = tmp_path / "runs" / "gan" / "bench" / NAME / "slurm" / "slurm-jobs.json"

    def live_ids():
        if not state.exists():
            return []
        return [r["job_id"] for r in json.loads(state.read_text())["runs"].values() if r.get("job_id")]

    victim = _first_running(live_ids)
    subprocess.run(["scancel", victim], check=True)
    driver.join(timeout=600)
    assert not driver.is_alive() and "summary" in done
    jobs = _jobs(tmp_path)
    cancelled = [name for name, r in jobs["runs"].items() if r["failures"]]
    assert cancelled, jobs  # the cancelled run was seen failing (it left no result)...
    for name in cancelled:  # ...resubmitted, and landed
        assert sum(1 for s in jobs["submissions"] if s["run"] == name) == jobs["runs"][name]["failures"] + 1
    assert len(_rows(tmp_path)) == len(jobs["runs"])
    assert all(r["seed"] is not None for r in done["summary"]["at_authors_lr"]["adam"]["runs"])


def test_a_driver_killed_and_restarted_submits_nothing_twice(tmp_path):
    command = [sys.executable, "-m", "gan.benchmark", "--benchmark", NAME, "--optimizers", "adam", "--root",
               str(tmp_path), "--executor", "slurm", "--slurm-poll-s", "0.5", "--slurm-time-min", "10"]
    state = tmp_path / "runs" / "gan" / "bench" / NAME / "slurm" / "slurm-jobs.json"
    first = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not state.exists() and time.time() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)  # the driver dies with its first job array queued or running
    first.wait()
    submitted_before = json.loads(state.read_text())["submissions"]
    assert submitted_before
    second = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-2000:]
    jobs = _jobs(tmp_path)
    for name, record in jobs["runs"].items():  # each run submitted once, more only after a failure
        assert sum(1 for s in jobs["submissions"] if s["run"] == name) == record["failures"] + 1, name
    assert len(_rows(tmp_path)) == len(jobs["runs"])


def test_bad_executor_settings_are_one_line_errors(tmp_path):
    config = tmp_path / "slurm.toml"
    config.write_text('partition = "debug"\ncpus = 4\n')
    result = subprocess.run([sys.executable, "-m", "gan.benchmark", "--benchmark", NAME, "--root", str(tmp_path),
                             "--executor", "slurm", "--slurm-config", str(config)], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and "unknown setting(s) ['cpus']" in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "runs").exists()
