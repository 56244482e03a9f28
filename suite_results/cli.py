"""Command-line entry points: a user's error (a bad value, an unwritable folder, a run directory
made with other options) ends in one line naming it and exit status 2, not a traceback.
``SUITE_TRACEBACK=1`` shows the traceback instead, for debugging.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable


class UserError(Exception):
    """A problem with what the user asked for, told in one line."""


USER_ERRORS = (UserError, ValueError, OSError)


def run_cli(prog: str, main: Callable, *args, **kwargs):
    """``main(*args, **kwargs)``, with a user's error printed as ``prog: error: ...`` (exit 2)."""
    try:
        return main(*args, **kwargs)
    except USER_ERRORS as error:
        if os.environ.get("SUITE_TRACEBACK") == "1":
            raise
        message = str(error) if not isinstance(error, OSError) or not error.filename else \
            f"{error.strerror or error}: {error.filename}"
        print(f"{prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2) from None


def command_line(prog: str, config, leading: tuple[str, ...] = (), skip: tuple[str, ...] = (), root=None) -> str:
    """The shell command that runs ``config`` (a dataclass) through ``prog``'s parser: each field a
    ``--flag`` (lists as several values, booleans as --x / --no-x, None left out), after ``leading``;
    with ``root``, every absolute path under it relative to it (:func:`portable_path`: a row's command)."""
    import dataclasses  # noqa: PLC0415
    import shlex  # noqa: PLC0415

    words = list(leading)
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        flag = "--" + f.name.replace("_", "-")
        if value is None or f.name in skip:
            continue
        if isinstance(value, bool):
            words.append(flag if value else "--no-" + flag[2:])
        elif isinstance(value, (list, tuple)):
            words += [flag, *map(str, value)]
        else:
            words += [flag, str(value)]
    if root is not None:
        words = [portable_path(word, root) if word.startswith("/") else word for word in words]
    return f"{prog} {shlex.join(words)}"


def check_choices(name: str, values, allowed) -> None:
    """A ValueError naming ``--name`` when ``values`` repeats one or holds one not in ``allowed``."""
    values = list(values)
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise ValueError(f"--{name} lists {repeated} more than once")
    unknown = [v for v in values if allowed is not None and v not in allowed]
    if unknown:
        raise ValueError(f"--{name}: unknown {unknown} (choose from: {', '.join(map(str, allowed))})")


def portable_path(path, root=None) -> str:
    """``path`` relative to ``root`` (default: the working directory) when it lies under it, else as
    given: what a checked-in row records, so that it names no one's home folder."""
    from pathlib import Path  # noqa: PLC0415

    path = Path(path)
    if not path.is_absolute():
        return str(path)
    try:
        return str(path.resolve().relative_to(Path(root or Path.cwd()).resolve()))
    except ValueError:
        return str(path)


def portable_command(words, root=None) -> str:
    """A command a reader can paste: the program by its name (``.venv/bin/fairseq-train`` ->
    ``fairseq-train``), every absolute path under ``root`` (default: the working directory)
    relative to it (:func:`portable_path`); shell-quoted."""
    import shlex  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    out = []
    for i, word in enumerate(map(str, words)):
        if i == 0 and "/" in word:
            word = Path(word).name
        elif word.startswith("/"):
            word = portable_path(word, root)
        out.append(word)
    return shlex.join(out)


def json_object(text: str) -> dict:
    """An argparse type: a JSON object (an optimizer's other keywords), or a one-line usage error."""
    import argparse  # noqa: PLC0415
    import json  # noqa: PLC0415

    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not JSON ({error.msg})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object")
    return value
