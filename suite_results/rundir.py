"""A run directory belongs to one configuration.

:func:`claim` records the configuration of a run in ``<run>/run_config.json`` the first time and
compares it on every later use: a run interrupted under one setting is never resumed, reused or
relabelled under another. Keys in ``ignore`` (how long to run, how often to log) may differ; the
file is then rewritten with the new values, only after the check passed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .files import atomic_write_text

CONFIG_FILE = "run_config.json"


class ConfigMismatch(ValueError):
    """The run directory holds a run made with other options."""


def canonical(config: dict) -> dict:
    """The configuration as JSON would give it back (tuples become lists, keys strings)."""
    return json.loads(json.dumps(config, sort_keys=True, default=str))


def config_key(config: dict, length: int = 10) -> str:
    """A short stable hash of a configuration, for run-directory names."""
    return hashlib.sha256(json.dumps(canonical(config), sort_keys=True).encode()).hexdigest()[:length]


def differing_keys(recorded: dict, config: dict, ignore=()) -> list[str]:
    recorded, config = canonical(recorded), canonical(config)
    return sorted(k for k in set(recorded) | set(config) if k not in ignore and recorded.get(k) != config.get(k))


def mismatch(run_dir: Path, recorded: dict, config: dict, keys: list[str]) -> ConfigMismatch:
    recorded, config = canonical(recorded), canonical(config)
    shown = "; ".join(f"{k}: {recorded.get(k, '(unset)')!r} there, {config.get(k, '(unset)')!r} now" for k in keys)
    return ConfigMismatch(f"{run_dir} holds a run made with other options ({shown}); nothing was changed. "
                          f"Use another directory for these options")


def claim(run_dir: Path, config: dict, ignore=(), filename: str = CONFIG_FILE, defaults: dict | None = None) -> bool:
    """Record ``config`` for ``run_dir`` or check it against the recorded one (ConfigMismatch).

    ``defaults``: the values of options added after a run was recorded (a recorded configuration
    without them was made with these). Returns True when the directory already belonged to this
    configuration (a resume).
    """
    run_dir = Path(run_dir)
    path = run_dir / filename
    if path.exists():
        try:
            recorded = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ConfigMismatch(f"{path} is not readable JSON ({error}); nothing was changed. Move it away "
                                 f"or use another directory") from None
        recorded = {**(defaults or {}), **recorded}
        keys = differing_keys(recorded, config, ignore)
        if keys:
            raise mismatch(run_dir, recorded, config, keys)
        if canonical(recorded) != canonical(config):
            atomic_write_text(path, json.dumps(canonical(config), indent=1, sort_keys=True))
        return True
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(canonical(config), indent=1, sort_keys=True))
    return False
