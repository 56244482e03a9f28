"""One writer per run directory (suite_results.locks): a second process is refused at once, a
killed holder leaves nothing stuck."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from suite_results import locks

HOLD = "import sys, time; from suite_results import locks\nwith locks.hold(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)"


def holder(run_dir):
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(run_dir)], stdout=subprocess.PIPE, text=True,
                               cwd=os.path.dirname(os.path.dirname(__file__)))
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_second_writer_is_refused_naming_the_directory_and_the_process(tmp_path):
    process = holder(tmp_path / "run")
    try:
        with pytest.raises(locks.RunLocked, match=rf"{tmp_path / 'run'} is in use by process {process.pid}"):
            with locks.hold(tmp_path / "run"):
                pass
        with locks.try_hold(tmp_path / "run") as mine:
            assert not mine
        assert locks.is_held(tmp_path / "run")
    finally:
        process.kill()
        process.wait()


def test_a_killed_holder_frees_the_directory(tmp_path):
    process = holder(tmp_path / "run")
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not locks.is_held(tmp_path / "run")
    with locks.hold(tmp_path / "run"):
        assert (tmp_path / "run" / ".lock").read_text().strip() == str(os.getpid())


def test_the_lock_is_reentrant_in_one_process_and_released_at_the_end(tmp_path):
    with locks.hold(tmp_path / "run"):
        with locks.try_hold(tmp_path / "run") as mine:
            assert mine
        with locks.hold(tmp_path / "run"):
            pass
        assert not locks.is_held(tmp_path / "run")  # held by this process: not "another"
    code = "import sys; from suite_results import locks\nwith locks.try_hold(sys.argv[1]) as m: print(m)"
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "run")], capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(__file__)), timeout=60)
    assert out.stdout.strip() == "True", out.stderr


def test_wait_hold_waits_for_the_holder_then_holds(tmp_path):
    import threading

    process = holder(tmp_path / "run")
    said = []
    threading.Timer(0.5, process.kill).start()  # the holder dies while we wait: its lock goes with it
    with locks.wait_hold(tmp_path / "run", poll_s=0.05, waiting=said.append):
        assert process.poll() is not None  # entered only once the holder was gone
        assert (tmp_path / "run" / ".lock").read_text().strip() == str(os.getpid())
    process.wait()
    assert said == [f"{tmp_path / 'run'} is in use by process {process.pid}: waiting for it"]
    assert not locks.is_held(tmp_path / "run")


def test_a_page_is_written_from_rows_read_after_the_other_sweeps_page(tmp_path):
    """Two sweeps of one benchmark (suite_results.sweeps.refresh): while one rewrites the page, the
    other does not read its row list, so it never writes a page (and removes TensorBoard files) from
    rows older than the first one's page. No lock without a lock directory (nothing written)."""
    import threading

    from suite_results import sweeps

    process = holder(tmp_path / "pages")  # the other sweep, in the middle of its page rewrite
    events = []

    def other_finishes():
        events.append("other page written")
        process.kill()

    threading.Timer(0.5, other_finishes).start()
    state, summary = sweeps.refresh(tmp_path / "pages", lambda: events.append("rows read") or "rows",
                                    lambda rows: {"page from": rows})
    process.wait()
    assert events == ["other page written", "rows read"]
    assert (state, summary) == ("rows", {"page from": "rows"})
    assert sweeps.refresh(None, lambda: 1, lambda s: {"s": s}) == (1, {"s": 1})
