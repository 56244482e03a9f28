"""scripts/start_sweeps.sh and scripts/with_sweeps_paused.sh know which processes are sweeps
(scripts/sweep_patterns.sh): a settle run is one, a shell that only names one is not."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def matches(pattern: str, line: str) -> bool:
    script = f'. scripts/sweep_patterns.sh; printf "%s\\n" "$LINE" | grep -qE -- "${pattern}"'
    return subprocess.run(["bash", "-c", script], cwd=ROOT, env=dict(os.environ, LINE=line)).returncode == 0


@pytest.mark.parametrize("line, sweep, work", [
    ("/x/.venv/bin/python -m nmt benchmark --benchmark bible-cpu --root /work", True, True),
    ("/x/.venv/bin/python -m gan.benchmark --benchmark fmnist-critic", True, True),
    ("/x/.venv/bin/python -m vision benchmark --benchmark fmnist-resnet", True, True),
    ("/x/.venv/bin/python -m optim_suite settle --optimizer torch.optim:NAdam --benchmarks fmnist-resnet", True, True),
    ("/x/.venv/bin/python /x/.venv/bin/optim-suite settle --optimizer torch.optim:NAdam", True, True),
    ("/x/.venv/bin/python /x/.venv/bin/fairseq-train data --optimizer adam", False, True),
    ("/x/.venv/bin/python -m gan.train --config c.toml", False, True),
    ("bash scripts/start_sweeps.sh nmt benchmark --benchmark bible-cpu", False, True),  # named, not counted
    ("bash scripts/start_sweeps.sh optim_suite settle --optimizer torch.optim:NAdam", False, True),
    ("/x/.venv/bin/python -m pytest tests/test_settle.py", False, False),
    ("/x/.venv/bin/python -m vision train --epochs 1", False, False),
])
def test_the_sweep_patterns(line, sweep, work):
    assert matches("SWEEPS", line) is sweep
    assert matches("SWEEP_WORK", line) is work


def test_a_settle_sweep_is_logged_under_its_candidate_s_name(tmp_path):
    if subprocess.run(["bash", "-c", '. scripts/sweep_patterns.sh; pgrep -f -- "$SWEEPS"'], cwd=ROOT,
                      capture_output=True).returncode == 0:
        pytest.skip("sweeps are running on this machine: start_sweeps.sh would count them")
    (tmp_path / "scripts").mkdir()
    for name in ("start_sweeps.sh", "sweep_patterns.sh"):
        shutil.copy(ROOT / "scripts" / name, tmp_path / "scripts" / name)
    fake = tmp_path / "fake-python"
    fake.write_text('#!/bin/sh\necho "args: $*"\n')
    fake.chmod(0o755)
    env = dict(os.environ, PY=str(fake), JEMALLOC="")
    done = subprocess.run(["bash", "scripts/start_sweeps.sh", "optim_suite settle --optimizer torch.optim:NAdam "
                           "--name nadam --benchmarks fmnist-resnet", "optim_suite settle --optimizer mine.opt:Lion "
                           "--benchmarks theory"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for log, name in (("sweep-nadam.log", "nadam"), ("sweep-mine.opt-Lion.log", "mine.opt:Lion")):
        path = tmp_path / "runs" / "settle" / log
        for _ in range(100):  # the background process writes it
            if path.exists() and path.read_text():
                break
            subprocess.run(["sleep", "0.1"])
        assert path.read_text().startswith("args: -m optim_suite settle --optimizer"), path
        assert name in path.read_text()
