"""One writer per run directory: an OS file lock that the kernel releases when its process dies.

:func:`hold` takes ``<run>/.lock`` with ``fcntl.flock`` (non-blocking) and keeps it for the life of
the ``with`` block. A second process asking for the same directory is refused at once with
:class:`RunLocked`, which names the directory and the process holding it; the first goes on
untouched. A ``kill -9`` of the holder frees the lock with its process, so a lock is never left
stuck: the file stays behind, but an unlocked file means nothing.

Sweeps use :func:`try_hold` instead: a row another process is training is skipped (it is that
process's work), so two sweeps on one root share the rows instead of training one twice. Shared
inputs that every process needs (a prepared data folder) use :func:`wait_hold`: the second process
waits for the first to finish making them, then finds them made.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path

from .cli import UserError

LOCK_FILE = ".lock"


class RunLocked(UserError):
    """Another live process holds the run directory."""


def _holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        pid = ""
    return f"process {pid}" if pid else "another process"


_HELD: dict = {}  # resolved run directory -> [open lock file, depth]: this process's locks (re-entrant)


def _acquire(run_dir: Path):
    """The key of ``run_dir``'s lock, now held by this process, or None when another process holds it.
    A directory this process already holds is held once more (the sweep holds a row's directory and
    the training it calls holds it again)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    key = str(run_dir.resolve())
    if key in _HELD:
        _HELD[key][1] += 1
        return key
    handle = open(run_dir / LOCK_FILE, "a+")  # noqa: SIM115 - kept open for the life of the lock
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    _HELD[key] = [handle, 1]
    return key


def _release(key) -> None:
    entry = _HELD[key]
    entry[1] -= 1
    if entry[1]:
        return
    del _HELD[key]
    with contextlib.suppress(OSError):
        entry[0].truncate(0)
    entry[0].close()  # closing the descriptor drops the flock


@contextlib.contextmanager
def hold(run_dir: Path):
    """Hold ``run_dir`` for this process, or raise RunLocked naming the directory and the holder."""
    handle = _acquire(run_dir)
    if handle is None:
        raise RunLocked(f"{run_dir} is in use by {_holder(Path(run_dir) / LOCK_FILE)} (a run directory has one "
                        f"writer at a time); wait for it to finish or use another directory")
    try:
        yield
    finally:
        _release(handle)


@contextlib.contextmanager
def try_hold(run_dir: Path):
    """Yield True while this process holds ``run_dir``, False (holding nothing) when another does."""
    handle = _acquire(run_dir)
    try:
        yield handle is not None
    finally:
        if handle is not None:
            _release(handle)


@contextlib.contextmanager
def wait_hold(run_dir: Path, poll_s: float = 1.0, waiting=None):
    """Hold ``run_dir`` for this process, waiting (``poll_s`` between tries) while another holds it;
    ``waiting(message)`` is told once when it has to wait."""
    while (handle := _acquire(run_dir)) is None:
        if waiting is not None:
            waiting(f"{run_dir} is in use by {_holder(Path(run_dir) / LOCK_FILE)}: waiting for it")
            waiting = None
        time.sleep(poll_s)
    try:
        yield
    finally:
        _release(handle)


def is_held(run_dir: Path) -> bool:
    """True when another live process holds ``run_dir`` now (a directory without a lock file is free)."""
    if not (Path(run_dir) / LOCK_FILE).exists() or str(Path(run_dir).resolve()) in _HELD:
        return False
    with try_hold(run_dir) as mine:
        return not mine
