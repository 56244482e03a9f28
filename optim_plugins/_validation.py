"""Hyperparameter checks shared by every optimizer: each raises a ValueError naming the bad value."""

from __future__ import annotations

import math
from collections.abc import Iterable


def _is_real_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_non_negative(name: str, value) -> None:
    if not _is_real_number(value) or value < 0:
        raise ValueError(f"Invalid {name}: {value!r} (expected a finite number >= 0)")


def check_positive(name: str, value) -> None:
    if not _is_real_number(value) or value <= 0:
        raise ValueError(f"Invalid {name}: {value!r} (expected a finite number > 0)")


def check_beta(name: str, value) -> None:
    if not _is_real_number(value) or not 0.0 <= value < 1.0:
        raise ValueError(f"Invalid {name}: {value!r} (expected 0 <= {name} < 1)")


def check_betas(betas) -> None:
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"Invalid betas: {betas!r} (expected a pair (beta1, beta2))")
    check_beta("beta1", betas[0])
    check_beta("beta2", betas[1])


def check_positive_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"Invalid {name}: {value!r} (expected an integer >= 1)")


def check_choice(name: str, value, choices: Iterable[str]) -> None:
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"Invalid {name}: {value!r} (expected one of {', '.join(map(repr, choices))})")
