"""Optimizers by name: ``build_optimizer("adashift", model.parameters(), lr=1e-2, keep_num=40)``."""

from __future__ import annotations

import inspect

import torch

from .adam import Adam, AMSGrad
from .adamal import AdamAL
from .adamnc import AdamNC
from .adashift import AdaShift
from .adopt import ADOPT

OPTIMIZERS = {
    "adam": Adam,
    "amsgrad": AMSGrad,
    "adamnc": AdamNC,
    "adashift": AdaShift,
    "adamal": AdamAL,
    "adopt": ADOPT,
    "sgd": torch.optim.SGD,  # the non-adaptive baseline, with momentum
}
SGD_DEFAULTS = {"lr": 0.1, "momentum": 0.9}


def build_optimizer(name: str, params, **hyperparameters) -> torch.optim.Optimizer:
    """Build the optimizer called ``name`` (case-insensitive) over ``params``.

    ``"sgd"`` is ``torch.optim.SGD`` with ``momentum=0.9`` and ``lr=0.1`` unless given.
    Unknown names and unknown hyperparameters raise a ValueError listing the valid ones.
    """
    key = str(name).lower()
    if key not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}")
    cls = OPTIMIZERS[key]
    if key == "sgd":
        hyperparameters = {**SGD_DEFAULTS, **hyperparameters}
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "params")]
    unknown = sorted(set(hyperparameters) - set(accepted))
    if unknown:
        raise ValueError(
            f"Unknown hyperparameter(s) {', '.join(unknown)} for {key}; accepted: {', '.join(accepted)}"
        )
    return cls(params, **hyperparameters)
