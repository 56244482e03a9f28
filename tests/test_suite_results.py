"""The shared results module: scalars read back from TensorBoard, the spread over seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from torch.utils.tensorboard import SummaryWriter

from suite_results import provenance
from suite_results.provenance import machines_of
from suite_results.rows import read_row, write_row
from suite_results.scalars import (Scalar, active_seconds, read_scalar, read_scalars, read_segments, stopped_seconds,
                                   worked_seconds)
from suite_results.stats import edge_note, format_spread, grid_edge, spread


def test_scalars_keep_the_last_value_of_a_repeated_step(tmp_path):
    writer = SummaryWriter(str(tmp_path))
    for step, value in ((1, 5.0), (2, 4.0), (3, 3.0)):
        writer.add_scalar("train/loss", value, step)
    writer.add_scalar("diag_corr", 0.5, 2)
    writer.flush()
    writer.close()
    writer = SummaryWriter(str(tmp_path))  # a resumed run writes step 3 again
    writer.add_scalar("train/loss", 2.5, 3)
    writer.close()
    loss = read_scalar(tmp_path, "train/loss")
    assert [(e.step, e.value) for e in loss] == [(1, 5.0), (2, 4.0), (3, 2.5)]
    assert list(read_scalars(tmp_path, prefix="diag_")) == ["diag_corr"]
    assert read_scalar(tmp_path, "train/los") == [] and read_scalar(tmp_path / "missing", "x") == []


def test_a_runs_seconds_leave_out_the_time_between_invocations_and_stops_inside_one(tmp_path):
    """A run logged every 5 s for 100 s, stopped for 45 minutes (with_sweeps_paused.sh) after 50 s,
    then killed and resumed 3 hours later for 20 s more: it worked 120 s, not 3 h 46 min."""
    first = [Scalar(i, 1.0, 1000.0 + 5 * i + (2700 if i > 10 else 0)) for i in range(21)]
    second = [Scalar(20 + i, 1.0, 1000.0 + 2800 + 10800 + 5 * i) for i in range(5)]
    assert active_seconds(first) == pytest.approx(100.0) and active_seconds(second) == pytest.approx(20.0)
    assert active_seconds(first[:1]) == 0.0
    slow = [Scalar(i, 1.0, 30.0 * i) for i in range(10)]  # slow logs, no stop: all of it counts
    assert active_seconds(slow) == pytest.approx(270.0)
    for segment in (first, second):  # one event file per invocation, as gan.train and fairseq write them
        writer = SummaryWriter(str(tmp_path))
        for e in segment:
            writer.add_scalar("train/critic_loss", e.value, e.step, walltime=e.wall_time)
        writer.close()
    assert sum(active_seconds(s) for s in read_segments(tmp_path, "train/critic_loss")) == pytest.approx(120.0)
    assert worked_seconds(tmp_path, "train/critic_loss") == pytest.approx(120.0)
    assert stopped_seconds(first) == pytest.approx(2700.0) and stopped_seconds(slow) == 0.0


def test_spread_mean_std_and_an_interval_around_the_mean():
    s = spread([1.0, 2.0, 3.0, 4.0])
    assert s["mean"] == pytest.approx(2.5) and s["std"] == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    half = 3.182446 * s["std"] / 2  # t(0.975, 3) sd / sqrt(4)
    assert s["ci_low"] == pytest.approx(2.5 - half) and s["ci_high"] == pytest.approx(2.5 + half)
    assert spread([7.0]) == {"n": 1, "mean": 7.0, "std": 0.0, "ci_low": None, "ci_high": None}
    assert format_spread(spread([7.0])) == "7.00 (1 run)"
    with pytest.raises(ValueError):
        spread([])


def test_grid_edge_flags_a_choice_at_either_end_of_the_grid():
    grid = [3e-4, 1e-3, 3e-3]
    assert grid_edge(3e-3, grid) == "upper" and grid_edge(3e-4, reversed(grid)) == "lower"
    assert grid_edge(1e-3, grid) is None and grid_edge(1e-3, [1e-3]) is None
    assert edge_note(3e-3, grid) == " (at the grid's upper edge)" and edge_note(1e-3, grid) == ""


def test_command_line_renders_a_config_its_parser_reads_back():
    import shlex
    from unittest import mock

    from gan import sweep
    from suite_results.cli import command_line

    config = sweep.SweepConfig(optimizers=["adam", "adashift"], seeds=[0, 3], out=Path("out dir"))
    command = command_line("python -m gan.sweep", config)
    assert "--width" not in command and "'out dir'" in command  # None left out, shell-quoted
    parsed = {}
    with mock.patch.object(sweep, "run", side_effect=lambda c: parsed.update(config=c) or []), \
            pytest.raises(FileNotFoundError):  # main then prints a results.md the stub never wrote
        sweep.main(shlex.split(command)[3:])
    assert parsed["config"] == config


def test_check_choices_names_repeated_and_unknown_values():
    from suite_results.cli import check_choices

    check_choices("seeds", [1, 2], None)
    with pytest.raises(ValueError, match=r"--seeds lists \[1\] more than once"):
        check_choices("seeds", [1, 2, 1], None)
    with pytest.raises(ValueError, match=r"--optimizers: unknown \['adamx'\]"):
        check_choices("optimizers", ["adam", "adamx"], ["adam", "sgd"])


def test_document_renders_the_same_cells_as_markdown_and_html(tmp_path):
    from suite_results.tables import Document

    doc = Document().heading("Run `x`").text("BLEU **30.4**, see `results.md`").table(
        ["optimizer", "claim"], [["adam", "max |dx| < 1"], ["adashift", "**not reproduced**"]])
    doc.write(tmp_path / "results.md")
    markdown = (tmp_path / "results.md").read_text()
    assert markdown.startswith("# Run `x`") and "max \\|dx\\| < 1" in markdown
    loaded = Document.load(tmp_path)
    assert loaded.blocks == doc.blocks and Document.load(tmp_path / "nothing") is None
    html = loaded.html()
    assert "<h3>Run x</h3>" in html and "<b>30.4</b>" in html and "<code>results.md</code>" in html
    assert "<td>max |dx| &lt; 1</td>" in html and "<td><b>not reproduced</b></td>" in html
    with pytest.raises(ValueError, match="cells"):
        Document().table(["a", "b"], [["only one"]])


def _rows(values):
    return [{"seed": s, "bleu": v} for s, v in enumerate(values, 1)]


def test_a_claim_compares_seed_by_seed_and_names_the_winner_margin_or_missing_seeds():
    from suite_results.claims import Margin, beats, beats_by, claim, within

    seeds, m = (1, 2, 3), Margin(0.5, "BLEU")
    adam, better = _rows([30.0, 31.0, 29.0]), _rows([31.1, 32.2, 30.3])  # +1.1, +1.2, +1.3 on each seed
    assert beats("x", better, "adam", adam, "bleu", seeds, m)["verdict"] == "reproduced"
    against = beats("adam", adam, "x", better, "bleu", seeds, m)
    assert (against["verdict"], against["detail"]) == ("not reproduced", "x beats adam")
    # lower is better (a loss): the same numbers read the other way round, with the verb given
    lower = beats("x", better, "adam", adam, "bleu", seeds, m, higher_is_better=False, win="below")
    assert (lower["verdict"], lower["detail"]) == ("not reproduced", "adam below x")
    # "by at least": a clear gain smaller than the margin is not the claim
    assert beats_by("x", better, "adam", adam, "bleu", seeds, 1.0, m)["verdict"] == "reproduced"
    short = beats_by("x", better, "adam", adam, "bleu", seeds, 1.5, m)
    assert (short["verdict"], short["detail"]) == ("not reproduced", "x ahead of adam by less than 1.5 BLEU")
    noisy = _rows([31.0, 30.0, 29.5])  # +1, -1, +0.5: the interval holds 0 and is wider than the margin
    assert beats("x", noisy, "adam", adam, "bleu", seeds, m)["verdict"] == "inconclusive"
    waiting = beats("x", better[:2], "adam", adam, "bleu", seeds, m)
    assert waiting["verdict"] == "pending" and waiting["measured"] == "x - adam: 2 of the 3 pilot seeds"
    assert within("adam", adam, "x", better, "bleu", seeds, 1.0, m)["verdict"] == "not reproduced"  # 1.2 behind
    assert within("adam", adam, "x", better, "bleu", seeds, 1.5, m)["verdict"] == "reproduced"
    # a claim of several comparisons: any reversal settles it, else the worst
    both = claim("x beats both", [beats("x", noisy, "adam", adam, "bleu", seeds, m),
                                  beats("x", noisy, "y", _rows([33.0, 32.1, 31.6]), "bleu", seeds, m)],
                 why="evidence")
    assert (both["verdict"], both["detail"], both["why"]) == ("not reproduced", "y beats x", "evidence")


def test_machines_of_counts_runs_per_recorded_cpu_and_those_that_recorded_none():
    epyc, xeon = {"cpu": "AMD EPYC 9B14", "cores": 2}, {"cpu": "Intel Xeon", "cores": 2}
    rows = [{"machine": epyc}, {"machine": xeon}, {"machine": epyc}, {}, {"machine": "damaged"}]
    assert machines_of(rows) == "2 on AMD EPYC 9B14; 1 on Intel Xeon; 2 with no machine recorded"
    assert machines_of([]) == "no runs"


def test_write_row_stamps_the_machine_and_writes_a_row_read_row_reads_back(tmp_path):
    path = tmp_path / "results" / "runs" / "adam-lr0.001-s1.json"  # its folder does not exist yet
    row = write_row(path, {"lr": 1e-3, "seed": 1})
    assert row["machine"]["cores"] >= 1 and row["machine"]["cpu"]
    assert read_row(path, ("lr", "seed", "machine")) == row and not list(path.parent.glob("*.part"))
    with pytest.raises(ValueError):
        write_row(tmp_path / "nan.json", {"loss": float("nan")})  # a row never holds NaN
    assert row["code"] == provenance.code() and row["code"]["torch"] == provenance.versions(["torch"])["torch"]


def test_code_says_the_commit_and_whether_the_suite_s_code_had_edits(tmp_path, monkeypatch):
    import subprocess  # noqa: PLC0415

    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    monkeypatch.setattr(provenance, "CHECKOUT", tmp_path)
    assert provenance.code()["commit"] is None and provenance.code()["dirty"] is None  # not a git checkout
    git("init", "-q")
    git("config", "user.email", "t@example.org")
    git("config", "user.name", "t")
    (tmp_path / "optim_plugins").mkdir()
    (tmp_path / "optim_plugins" / "adam.py").write_text("x = 1\n")
    git("add", "-A")
    git("commit", "-qm", "c")
    made = provenance.code()
    assert len(made["commit"]) == 10 and made["dirty"] is False
    (tmp_path / "notes.txt").write_text("not code\n")  # files outside the packages do not count
    assert provenance.code()["dirty"] is False
    (tmp_path / "optim_plugins" / "adam.py").write_text("x = 2\n")
    assert provenance.code()["dirty"] is True


def test_code_of_counts_runs_per_commit_and_those_that_recorded_none():
    rows = [{"code": {"commit": "abc", "dirty": False, "torch": "2.1"}}, {"code": {"commit": "abc", "dirty": True,
            "torch": "2.1"}}, {"code": {"commit": "abc", "dirty": False, "torch": "2.1"}}, {}, {"code": "damaged"},
            {"code": {"commit": None, "dirty": None, "torch": "2.2"}}]
    assert provenance.code_of(rows) == ("2 at abc, torch 2.1; 1 at abc +changes, torch 2.1; "
                                        "1 at no git checkout, torch 2.2; 2 with no code version recorded")
    assert provenance.code_of([]) == "no runs"


def test_other_load_counts_the_cores_other_processes_keep_busy_and_not_this_one(monkeypatch):
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415
    import time  # noqa: PLC0415

    if provenance._busy_seconds() is None:
        pytest.skip("no /proc/stat on this system")
    spinner = subprocess.Popen([sys.executable, "-c", "import time\nend = time.time() + 3\nwhile time.time() < end: pass"])
    try:
        time.sleep(0.5)  # the child's interpreter up and spinning
        with provenance.OtherLoad() as load:
            time.sleep(1.5)
    finally:
        spinner.wait(timeout=30)
    assert load.cores >= 0.7  # one spinning child (anything else running only adds to it)
    # this process's own work is left out: the machine's busy seconds less its own
    clock = iter([(100.0, 10.0, 0.0), (103.0, 12.0, 2.0)])  # (machine busy s, own CPU s, wall s) at enter, exit
    times = {}
    monkeypatch.setattr(provenance, "_busy_seconds", lambda: times["now"][0])
    monkeypatch.setattr(provenance.time, "process_time", lambda: times["now"][1])
    monkeypatch.setattr(provenance.time, "perf_counter", lambda: times["now"][2])
    meter = provenance.OtherLoad()
    times["now"] = next(clock)
    meter.__enter__()
    times["now"] = next(clock)
    meter.__exit__(None, None, None)
    assert meter.cores == pytest.approx(0.5)  # 3 busy seconds, 2 of them its own, over 2 s
    monkeypatch.setattr(provenance, "_busy_seconds", lambda: None)
    with provenance.OtherLoad() as unknown:
        pass
    assert unknown.cores is None  # not Linux: unknown, not 0


def test_a_second_process_writing_between_the_first_ones_write_and_rename_breaks_neither(tmp_path, monkeypatch):
    # Two sweeps of one benchmark write its summary; with one shared temporary name the second's
    # write-and-rename, landing between the first's write and rename, moved the first's file away and
    # the first died (2026-12-06). Played here in one process: the other writer has another pid.
    import os  # noqa: PLC0415

    import suite_results.files as files  # noqa: PLC0415

    path = tmp_path / "summary.json"
    real_replace, real_getpid = os.replace, os.getpid
    interleaved = []

    def replace_after_the_other_writer(src, dst):
        if not interleaved:
            interleaved.append(src)
            monkeypatch.setattr(files.os, "getpid", lambda: real_getpid() + 1)
            files.atomic_write_text(path, "second")
            monkeypatch.setattr(files.os, "getpid", real_getpid)
        real_replace(src, dst)

    monkeypatch.setattr(files.os, "replace", replace_after_the_other_writer)
    files.atomic_write_text(path, "first")
    assert interleaved and path.read_text() == "first" and not list(tmp_path.glob("*.part"))


def test_atomic_savefig_writes_the_figure_in_the_format_its_name_says_and_no_partial_file(tmp_path):
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    from suite_results.files import atomic_savefig  # noqa: PLC0415

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    atomic_savefig(fig, tmp_path / "curve.png", dpi=40)
    atomic_savefig(fig, tmp_path / "curve.svg")
    plt.close(fig)
    assert (tmp_path / "curve.png").read_bytes().startswith(b"\x89PNG")
    assert b"<svg" in (tmp_path / "curve.svg").read_bytes()
    assert not list(tmp_path.glob("*.part"))
