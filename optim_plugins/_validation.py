"""Hyperparameter checks shared by every optimizer: each raises a ValueError naming the bad value.

Numbers may be Python or NumPy scalars (as torch accepts them); :func:`plain_numbers` turns NumPy
scalars into Python ones before they are stored, so a state dict stays loadable with
``weights_only=True``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable


def _is_real_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def plain_numbers(value):
    """NumPy scalars (also inside tuples and lists) -> Python int/float; everything else as is."""
    if isinstance(value, (tuple, list)):
        return type(value)(plain_numbers(v) for v in value)
    if isinstance(value, bool) or type(value) in (int, float):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


def check_non_negative(name: str, value) -> None:
    if not _is_real_number(value) or value < 0:
        raise ValueError(f"Invalid {name}: {value!r} (expected a finite number >= 0)")


def check_lr(value) -> None:
    """A finite number >= 0, or a 0-dim real floating tensor holding one (torch's tensor lr)."""
    import torch  # noqa: PLC0415

    if torch.is_tensor(value):
        if value.numel() != 1 or not value.is_floating_point() or value.requires_grad:
            raise ValueError(f"Invalid lr: a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
                             f"{' that requires grad' if value.requires_grad else ''} (expected a number, or a "
                             f"one-element floating tensor without grad)")
        number = float(value)
        if not math.isfinite(number) or number < 0:
            raise ValueError(f"Invalid lr: tensor({number!r}) (expected a finite value >= 0)")
        return
    check_non_negative("lr", value)


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
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"Invalid {name}: {value!r} (expected an integer >= 1)")


def check_choice(name: str, value, choices: Iterable[str]) -> None:
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"Invalid {name}: {value!r} (expected one of {', '.join(map(repr, choices))})")


def check_flag(name: str, value) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"Invalid {name}: {value!r} (expected True or False)")


def plain_numbers_dict(group: dict) -> dict:
    """:func:`plain_numbers` applied to every value of a parameter group except its params."""
    return {k: (v if k == "params" else plain_numbers(v)) for k, v in group.items()}
