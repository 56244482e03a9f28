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


def test_each_sweep_is_logged_under_its_own_name(tmp_path):
    (tmp_path / "scripts").mkdir()
    (tmp_path / "bin").mkdir()  # a pgrep that finds no sweep: the machine's own sweeps do not count here
    (tmp_path / "bin" / "pgrep").write_text("#!/bin/sh\necho 0\nexit 1\n")
    (tmp_path / "bin" / "pgrep").chmod(0o755)
    for name in ("start_sweeps.sh", "sweep_patterns.sh"):
        shutil.copy(ROOT / "scripts" / name, tmp_path / "scripts" / name)
    fake = tmp_path / "fake-python"
    fake.write_text('#!/bin/sh\necho "args: $*"\n')
    fake.chmod(0o755)
    env = dict(os.environ, PY=str(fake), JEMALLOC="", PATH=f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    sweeps = {"settle/sweep-nadam.log": ("optim_suite settle --optimizer torch.optim:NAdam --name nadam "
                                         "--benchmarks fmnist-resnet", "nadam"),
              "settle/sweep-mine.opt-Lion.log": ("optim_suite settle --optimizer mine.opt:Lion --benchmarks theory",
                                                 "mine.opt:Lion"),
              "nmt/sweep-bible-cpu+sgd+adopt.log": ("nmt benchmark --benchmark bible-cpu --candidates sgd adopt "
                                                    "--root /x", "--candidates sgd adopt"),
              "nmt/sweep-bible-cpu.log": ("nmt benchmark --benchmark bible-cpu", "bible-cpu")}
    for sweep, _ in sweeps.values():  # two at a time, as on the 2 cores
        done = subprocess.run(["bash", "scripts/start_sweeps.sh", sweep], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    for log, (sweep, name) in sweeps.items():
        path = tmp_path / "runs" / log
        for _ in range(100):  # the background process writes it
            if path.exists() and path.read_text():
                break
            subprocess.run(["sleep", "0.1"])
        assert path.read_text().startswith(f"args: -m {sweep.split()[0]}"), path
        assert name in path.read_text()
