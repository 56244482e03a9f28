"""A benchmark candidate is data: a name, an optimizer, fixed hyperparameters, and the lr grid the
tuning protocol starts from (tuned) or a fixed lr (untuned).

The optimizer is a name of this library (``"adashift"``), ``"module:Class"`` of any
``torch.optim.Optimizer`` (``"torch.optim:NAdam"``, or a class in the user's own package; a dotted
``"torch.optim.NAdam"`` works too), or ``"fairseq:NAME"`` for fairseq's own (the NMT sanity row).
The built-in candidates of every benchmark are in ``candidates.toml`` beside this module, one place
for all benchmarks; each benchmark's definition chooses among its family's. A user's candidates
come from the command line (``optim-suite settle --optimizer ...``) or a TOML file of the same form
(``--candidates FILE``).

Bad input is one line naming it, before anything runs: an optimizer that cannot be imported, a
class that is not a ``torch.optim.Optimizer``, a hyperparameter its constructor does not take or a
value it refuses (the class is built once on a one-element tensor), a fixed ``lr`` (the protocol
tunes it), a name that is not a plain folder name.
"""

from __future__ import annotations

import inspect
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import torch

from optim_plugins.registry import accepted_keywords as accepted  # noqa: E402
from optim_plugins.registry import build_any
from optim_plugins.registry import resolve_optimizer as resolve  # noqa: E402

BUILTIN = Path(__file__).with_name("candidates.toml")
FIELDS = ("optimizer", "hyperparameters", "lr_grid", "fixed_lr", "runs_as")
# A name becomes a folder (results/settle/<name>, run directories): letters, digits, ".", "_", "-",
# not starting with "." or "-" (no "..", no "/", no hidden or option-like names).
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class Candidate:
    name: str
    optimizer: str
    hyperparameters: dict = field(default_factory=dict)
    lr_grid: tuple = ()
    fixed_lr: float | None = None
    runs_as: str | None = None  # another candidate whose runs these are (the same settings)

    def __post_init__(self):
        if not isinstance(self.name, str) or not NAME.fullmatch(self.name):
            raise ValueError(f"candidate name {self.name!r}: expected letters, digits, '.', '_' or '-', "
                             "starting with a letter or digit (it names a folder)")

    @property
    def tuned(self) -> bool:
        return bool(self.lr_grid)

    @property
    def external(self) -> bool:
        """A class from outside this library (``module:Class`` or ``module.Class``)."""
        return not self.optimizer.startswith("fairseq:") and (":" in self.optimizer or "." in self.optimizer)

    @property
    def class_path(self) -> str:
        """``module.Class`` of an external optimizer (the form fairseq's --optimizer-class takes)."""
        return self.optimizer.replace(":", ".")

    def settings(self) -> dict:
        """The hyperparameters with tuples for lists (TOML has no tuples): betas = (0.9, 0.98)."""
        return {k: tuple(v) if isinstance(v, list) else v for k, v in self.hyperparameters.items()}


def check_lrs(lrs, where: str) -> None:
    """A ValueError naming the first lr that is not a finite positive number, or one given twice."""
    for lr in lrs:
        if isinstance(lr, bool) or not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
            raise ValueError(f"{where}: lr {lr!r} (expected a positive number)")
    repeated = sorted({lr for lr in lrs if list(lrs).count(lr) > 1})
    if repeated:
        raise ValueError(f"{where}: lr {repeated[0]!r} given more than once")


def _candidate(name: str, table: dict, where: str) -> Candidate:
    unknown = sorted(set(table) - set(FIELDS))
    if unknown:
        raise ValueError(f"{where}: candidate {name!r}: unknown field(s) {unknown} (known: {', '.join(FIELDS)})")
    if "optimizer" not in table:
        raise ValueError(f"{where}: candidate {name!r} names no optimizer")
    grid = tuple(float(v) for v in table.get("lr_grid", ()))
    fixed = table.get("fixed_lr")
    if bool(grid) == (fixed is not None):
        raise ValueError(f"{where}: candidate {name!r} needs either an lr_grid (tuned) or a fixed_lr (untuned)")
    check_lrs((*grid, *([fixed] if fixed is not None else [])), f"{where}: candidate {name!r}")
    return Candidate(name, str(table["optimizer"]), dict(table.get("hyperparameters", {})), grid,
                     None if fixed is None else float(fixed), table.get("runs_as"))


def load(path: Path = BUILTIN, family: str | None = None) -> dict[str, Candidate]:
    """The candidates of a TOML file (one table per candidate; ``family``: the built-in file's section)."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"{path}: {error}") from None
    if family is not None:
        data = data.get(family, {})
    return {name: _candidate(name, table, str(path)) for name, table in data.items()}


def builtin(family: str) -> dict[str, Candidate]:
    """The built-in candidates of one benchmark family ("nmt", "vision")."""
    return load(BUILTIN, family)


def check(candidate: Candidate) -> None:
    """One line naming what is wrong with a user's candidate: its class, a hyperparameter it does not take
    (or lr, which the protocol tunes), or a value its constructor refuses."""
    if candidate.optimizer.startswith("fairseq:"):
        return
    cls = resolve(candidate.optimizer)
    names = accepted(cls)
    if "lr" in candidate.hyperparameters:
        raise ValueError(f"candidate {candidate.name!r}: lr is what the protocol tunes; give it as the lr grid "
                         "(--lr-grid, or lr_grid / fixed_lr in a file), not as a fixed hyperparameter")
    if names is not None:
        unknown = sorted(set(candidate.hyperparameters) - names)
        if unknown:
            raise ValueError(f"optimizer {candidate.optimizer!r} does not take {', '.join(unknown)} (its "
                             f"constructor takes: {', '.join(sorted(names))})")
    lr = candidate.lr_grid[0] if candidate.lr_grid else candidate.fixed_lr
    lr = {} if lr is None else {"lr": lr}
    try:  # the class's own checks of its values (betas in [0, 1), eps >= 0, ...), on one dummy tensor
        build_any(candidate.optimizer, [torch.zeros(1, requires_grad=True)], **lr, **candidate.settings())
    except (ValueError, TypeError) as error:
        raise ValueError(f"optimizer {candidate.optimizer!r} refuses {candidate.settings()}: {error}") from None


def default_lr(cls) -> float:
    """The class's default lr, or 1e-3 when it has none."""
    parameter = inspect.signature(cls.__init__).parameters.get("lr")
    default = getattr(parameter, "default", inspect.Parameter.empty)
    try:
        value = float(default)
    except (TypeError, ValueError):
        return 1e-3
    return value if math.isfinite(value) and value > 0 else 1e-3


def user_candidate(optimizer: str, name: str | None = None, lr_grid=None, settings: dict | None = None) -> Candidate:
    """A user's candidate, checked: ``lr_grid`` defaults to the class's default lr / 3, x 1, x 3."""
    cls = resolve(optimizer)
    if lr_grid:
        grid = tuple(sorted(float(v) for v in lr_grid))
        check_lrs(grid, "--lr-grid")
    else:
        lr = default_lr(cls)
        grid = tuple(float(f"{lr * f:.12g}") for f in (1 / 3, 1.0, 3.0))
    candidate = Candidate(cls.__name__.lower() if name is None else name, optimizer, dict(settings or {}), grid)
    check(candidate)
    return candidate


def parse_settings(pairs) -> dict:
    """``["momentum_decay=0.004", "betas=0.9,0.99"]`` -> {"momentum_decay": 0.004, "betas": (0.9, 0.99)}."""
    out = {}
    for pair in pairs or ():
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--set {pair!r}: expected key=value")
        out[key.strip()] = _value(text.strip())
    return out


def _value(text: str):
    if "," in text:
        return tuple(_value(part) for part in text.split(","))
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
