"""The demo end to end at a tiny scale: report, images, numbers, TensorBoard (files and server),
and the page rendered in a real headless browser."""

from __future__ import annotations

import csv
import json
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "outputs" / "test_artifacts"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    result = subprocess.run([sys.executable, "-m", "scripts.demo", "--scale", "tiny", "--root", str(root)],
                            cwd=REPO, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "tensorboard --logdir" in result.stdout
    (root / "demo.log").write_text(result.stdout + result.stderr)  # what `make demo > log` would hold
    return root


@pytest.mark.slow
def test_the_demos_log_has_no_progress_bar_refreshes(demo):
    """Off a terminal every long step (theory, fairseq, the GAN) logs plain lines, no carriage returns."""
    log = (demo / "demo.log").read_text()
    assert log.strip() and "\r" not in log


def outputs_dir(demo: Path) -> Path:
    return demo / "outputs" / "tiny"


def runs_dir(demo: Path) -> Path:
    return demo / "runs" / "tiny"


@pytest.mark.slow
def test_report_references_existing_images_and_real_numbers(demo):
    page = (demo / "report" / "index.html").read_text()
    images = re.findall(r"<img src='([^']+)'", page)
    assert len(images) >= 4
    assert all((demo / "report" / src).stat().st_size > 5_000 for src in images)
    for stage in ("theory", "nmt", "gan"):
        assert f"{stage} <span class='ok'>[ok]</span>" in page
    nmt_rows = list(csv.DictReader(open(outputs_dir(demo) / "nmt" / "bible-en-es" / "sweep" / "results.csv")))
    for row in nmt_rows:
        assert f"{float(row['bleu']):.2f} (1 run)" in page  # the BLEU of this run's test translation (one seed: no interval)
        assert json.loads(Path(row["run"], "scores.json").read_text())["bleu"] == float(row["bleu"])
    gan_rows = list(csv.DictReader(open(outputs_dir(demo) / "gan" / "results.csv")))
    assert f"{float(gan_rows[0]['final_critic_loss']):.4g}" in page
    theory = json.loads((outputs_dir(demo) / "theory" / "results.json").read_text())
    adam_theta = theory["stochastic"]["Adam beta1=0"]
    assert f"{sum(adam_theta) / len(adam_theta):+.3f}" in page
    assert "torch" in page and "fairseq-fixed" in page and "CPU" in page
    assert "Checked-in benchmark results" in page and "results/theory-adopt" in page


@pytest.mark.slow
def test_tensorboard_event_files_hold_the_expected_tags(demo):
    gan_run = next((runs_dir(demo) / "gan").glob("8gaussians-full-adam-*"))
    events = EventAccumulator(str(gan_run))
    events.Reload()
    assert {"train/critic_loss", "train/generator_loss", "quality/sliced_wasserstein"} <= set(events.Tags()["scalars"])
    nmt_run = next((runs_dir(demo) / "nmt").glob("adashift-*"))
    events = EventAccumulator(str(nmt_run / "tb" / "valid"))
    events.Reload()
    assert "loss" in events.Tags()["scalars"]
    events = EventAccumulator(str(runs_dir(demo) / "theory"))
    events.Reload()
    assert "stochastic/Adam beta1=0" in events.Tags()["scalars"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_tensorboard_serves_the_runs_and_tags(demo):
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", str(demo / "runs"),
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base, runs = f"http://127.0.0.1:{port}", []  # run names are paths under --logdir
        for _ in range(120):
            try:
                runs = json.load(urllib.request.urlopen(f"{base}/data/runs", timeout=5))
                if any(r.startswith("tiny/gan/") for r in runs) and any(r.startswith("tiny/nmt/") for r in runs):
                    break
            except OSError:
                pass
            time.sleep(1)
        assert any(r.startswith("tiny/theory") for r in runs) and any("tiny/nmt/adashift" in r for r in runs), runs
        tags = json.load(urllib.request.urlopen(f"{base}/data/plugin/scalars/tags", timeout=10))
        gan_full = next(r for r in tags if r.startswith("tiny/gan/8gaussians-full-adam"))
        assert "train/critic_loss" in tags[gan_full]
    finally:
        server.terminate()
        server.wait(timeout=30)


CHECK_SCRIPT = """<script>window.addEventListener('load', () => {
  const imgs = [...document.images];
  const tables = [...document.querySelectorAll('table')].filter(t => t.querySelector('th') && t.rows.length > 1);
  const ragged = tables.filter(t => [...t.rows].some(r => r.cells.length !== t.rows[0].cells.length)).length;
  document.title = 'images:' + imgs.length + ' loaded:' + imgs.filter(i => i.complete && i.naturalWidth > 0).length
    + ' tables:' + tables.length + ' ragged:' + ragged;
});</script>"""


@pytest.mark.slow
def test_report_renders_in_headless_chromium(demo, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (scripts/setup_env.sh installs it with apt-get as root)")
    report = demo / "report"
    check = report / "check.html"
    check.write_text((report / "index.html").read_text().replace("</body>", CHECK_SCRIPT + "</body>"))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
             "--virtual-time-budget=5000"]
    dom = subprocess.run([browser, *flags, "--dump-dom", check.as_uri()], capture_output=True, text=True,
                         timeout=120)
    title = re.search(r"<title>([^<]*)</title>", dom.stdout).group(1)
    count, loaded, tables, ragged = map(int, re.findall(r"\d+", title))
    assert count >= 4 and loaded == count, title
    assert tables >= 3 and ragged == 0, title  # every row has the header's number of cells
    console_errors = [l for l in dom.stderr.splitlines() if "CONSOLE" in l and ("Error" in l or "Uncaught" in l)]
    assert not console_errors, console_errors
    screenshot = tmp_path / "report.png"
    subprocess.run([browser, *flags, f"--screenshot={screenshot}", "--window-size=1200,2400",
                    (report / "index.html").as_uri()], capture_output=True, timeout=120)
    assert screenshot.stat().st_size > 20_000
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(screenshot, ARTIFACTS / "report_screenshot.png")


def test_report_tables_keep_pipes_inside_cells(tmp_path):
    from scripts.report import results_html
    from suite_results.tables import Document

    Document().table(["experiment", "claim", "verdict"],
                     [["stochastic", "max |dx| < 0.1 and corr(|g_t|, lr_t) ~ 0", "reproduced"],
                      ["plain", "no pipes", "not reproduced"]]).write(tmp_path / "results.md")
    assert "max \\|dx\\|" in (tmp_path / "results.md").read_text()  # escaped in the Markdown
    page = results_html(tmp_path / "results.md")
    rows = re.findall(r"<tr>(.*?)</tr>", page)
    assert len(rows) == 3 and all(len(re.findall(r"<t[hd]>", r)) == 3 for r in rows), page
    assert "max |dx| &lt; 0.1 and corr(|g_t|, lr_t) ~ 0" in page


@pytest.mark.parametrize("command", [
    [sys.executable, "scripts/window_precision.py", "--help"], [sys.executable, "-m", "scripts.window_precision", "--help"],
    [sys.executable, "scripts/bench_end_to_end.py", "--help"], [sys.executable, "-m", "scripts.bench_end_to_end", "--help"],
    [sys.executable, "scripts/bench_optimizers.py", "--help"], [sys.executable, "-m", "suite_data", "--help"],
])
def test_documented_entry_points_run(command):
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "usage:" in result.stdout, result.stderr[-2000:]


@pytest.mark.parametrize("command", [["scripts.demo", "--root"], ["theory.run", "--scale", "tiny", "--out"]])
def test_unwritable_output_folder_is_one_line(tmp_path, command):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    module, *args = command
    result = subprocess.run([sys.executable, "-m", module, *args, str(blocker / "out")], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "error:" in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and result.stderr.count("error:") == 1


def test_checked_in_results_are_rendered_and_marked(tmp_path):
    from scripts.report import checked_in_results

    folder = tmp_path / "results" / "nmt" / "bench-x"
    folder.mkdir(parents=True)
    from suite_results.tables import Document

    Document().heading("NMT benchmark `bench-x`").table(["optimizer", "BLEU"], [["adam", "25.1"]]).write(
        folder / "results.md")
    shutil.copyfile(REPO / "results" / "theory-adopt" / "beta2_map.png", folder / "valid_loss.png")
    images = tmp_path / "img"
    images.mkdir()
    html = "".join(checked_in_results(images, tmp_path / "results"))
    assert "results/nmt/bench-x" in html and "checked-in benchmark result" in html
    assert "<h3>NMT benchmark bench-x</h3>" in html and "<td>25.1</td>" in html
    assert (images / "results_nmt_bench-x_valid_loss.png").exists()
