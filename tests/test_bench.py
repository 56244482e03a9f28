"""The benchmark scripts run (quick mode); no timing assertions."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_optimizer_benchmark_quick_mode_prints_the_table_and_writes_json(tmp_path):
    result = subprocess.run([sys.executable, "scripts/bench_optimizers.py", "--quick", "--out", str(tmp_path)],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "torch.Adam fused" in result.stdout and "AdaShift n=10 max" in result.stdout
    written = json.loads(next(tmp_path.glob("bench_cpu_*.json")).read_text())
    rows = {r["candidate"]: r for r in written["rows"]}
    assert rows["torch.Adam fused"]["ratio"] == 1.0
    assert rows["Adam default (fused)"]["state_bytes_per_param"] == 8.0
    assert rows["AdaShift n=10 none"]["state_bytes_per_param"] == 4 * (10 + 3)
