"""The GPU checks' rehearsal (scripts/gpu_checks.sh --dry-run): every step of the script that runs on
the lent GPU machine, here on the CPU at tiny sizes, so the script cannot rot between the rare
sessions that have a GPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.integration
def test_the_dry_run_passes_every_step(tmp_path):  # each step in its time box (no timing asserted here)
    env = dict(os.environ, PY=sys.executable, GPU_CHECKS_WORK=str(tmp_path / "work"))
    result = subprocess.run(["bash", "scripts/gpu_checks.sh", "--dry-run", str(tmp_path / "out")], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=600)
    report = json.loads((tmp_path / "out" / "gpu_checks.json").read_text())
    statuses = {s["name"]: s["status"] for s in report["steps"]}
    assert statuses == dict.fromkeys(["environment", "optimizer_tests", "step_benchmark", "critic", "vision",
                                      "fairseq"], "ok"), (statuses, result.stderr[-3000:])
    assert result.returncode == 0 and report["dry_run"] is True
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["gpu_checks.json", "gpu_checks.log"]  # 8 come back
    tests = next(s for s in report["steps"] if s["name"] == "optimizer_tests")["numbers"]
    assert set(tests["fast_path_vs_float64_reference_max_abs"]) == {"adam", "amsgrad", "adamal", "adamnc", "adopt",
                                                                     "adashift-none", "adashift-max"}


def test_the_device_path_needs_no_venv():
    for script in ("scripts/gpu_checks.sh", "scripts/gpu_checks.py"):
        text = (ROOT / script).read_text()
        code = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
        assert not any(".venv" in line for line in code), script


def test_the_device_path_checks_the_carried_binaries_without_sentencepiece():
    """The bare GPU image has no sentencepiece: the fairseq step's check of the carried bin/ (every file
    fairseq-train reads, nmt.prepare.binaries) imports without it."""
    code = ("import sys; sys.modules['sentencepiece'] = None\n"
            "from nmt.prepare import CORPORA, binaries\nprint(len(binaries(*CORPORA['bible-en-es'])))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "14", out.stderr
