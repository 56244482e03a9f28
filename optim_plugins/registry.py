"""Optimizers by name: ``build_optimizer("adashift", model.parameters(), lr=1e-2, keep_num=40)``.

:func:`optimizer_kwargs` is the one place that maps a name plus the common hyperparameters (lr,
betas, eps, weight decay) and extras to an optimizer's constructor arguments (the shape of timm's
``optimizer_kwargs``); the GAN trainer and the fairseq adapters build their optimizers through it.
"""

from __future__ import annotations

import importlib
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
    accepted = _accepted(cls)
    unknown = sorted(set(hyperparameters) - set(accepted))
    if unknown:
        raise ValueError(
            f"Unknown hyperparameter(s) {', '.join(unknown)} for {key}; accepted: {', '.join(accepted)}"
        )
    return cls(params, **hyperparameters)


# Options of one optimizer of the suite: passed to those that take them, dropped for the others, so
# a caller can hand the same extras to every optimizer (keep_num reaches AdaShift only).
SPECIFIC = ("keep_num", "reduce", "window_dtype", "clip_exponent", "beta1_decay", "lr_decay", "momentum")


def _accepted(cls) -> list[str]:
    return [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "params")]


def optimizer_kwargs(name: str, lr=None, betas=None, eps=None, weight_decay=None, decoupled_weight_decay=None,
                     **extras) -> dict:
    """Constructor kwargs of optimizer ``name`` from common hyperparameters (None: its default) and extras.

    ``betas`` is (beta1, beta2) for Adam, AMSGrad, AdamAL, AdaShift and ADOPT; AdamNC takes beta1 only
    (its v is the plain mean of the squares); SGD takes neither (its momentum is an extra, default 0.9).
    ``decoupled_weight_decay=False`` is what an optimizer without the option does (AdamNC, SGD: L2);
    True for those raises. Extras in ``SPECIFIC`` are dropped where the optimizer has no such option;
    any other unknown extra raises a ValueError naming the accepted ones.
    """
    key = str(name).lower()
    if key not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}")
    accepted = _accepted(OPTIMIZERS[key])
    kwargs = {k: v for k, v in (("lr", lr), ("eps", eps), ("weight_decay", weight_decay)) if v is not None}
    kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    if betas is not None:
        if "betas" in accepted:
            kwargs["betas"] = tuple(betas)
        elif "beta1" in accepted:
            kwargs["beta1"] = betas[0]
    if decoupled_weight_decay is not None:
        if "decoupled_weight_decay" in accepted:
            kwargs["decoupled_weight_decay"] = decoupled_weight_decay
        elif decoupled_weight_decay:
            raise ValueError(f"{key} has no decoupled weight decay (it adds weight_decay * p to the gradient)")
    unknown = sorted(k for k in extras if k not in accepted and k not in SPECIFIC)
    if unknown:
        raise ValueError(f"Unknown hyperparameter(s) {', '.join(unknown)} for {key}; accepted: {', '.join(accepted)}")
    kwargs.update({k: v for k, v in extras.items() if k in accepted})
    return kwargs


def hyperparameters(name: str, **given) -> dict:
    """Every constructor hyperparameter of optimizer ``name``: its defaults, overridden by ``given``
    (for code that needs the values an optimizer will use, without re-stating its defaults)."""
    key = str(name).lower()
    if key not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}")
    signature = inspect.signature(OPTIMIZERS[key].__init__).parameters
    defaults = {k: p.default for k, p in signature.items()
                if k not in ("self", "params", "foreach", "fused") and p.default is not inspect.Parameter.empty}
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ValueError(f"Unknown hyperparameter(s) {', '.join(unknown)} for {key}; accepted: {', '.join(defaults)}")
    return {**defaults, **given}


def resolve_optimizer(spec: str):
    """The optimizer class ``spec`` names: one of this library's, or ``module:Class`` / ``module.Class``."""
    if spec in OPTIMIZERS:
        return OPTIMIZERS[spec]
    module_name, sep, attribute = spec.partition(":")
    if not sep:
        module_name, _, attribute = spec.rpartition(".")
    if not module_name or not attribute:
        raise ValueError(f"optimizer {spec!r}: neither a name of this library ({', '.join(OPTIMIZERS)}) nor "
                         f"module:Class (e.g. torch.optim:NAdam)")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"optimizer {spec!r}: cannot import {module_name!r} ({error})") from None
    cls = getattr(module, attribute, None)
    if cls is None:
        raise ValueError(f"optimizer {spec!r}: {module_name} has no {attribute!r}")
    if not (inspect.isclass(cls) and issubclass(cls, torch.optim.Optimizer)):
        raise ValueError(f"optimizer {spec!r}: {cls!r} is not a torch.optim.Optimizer subclass")
    return cls


def accepted_keywords(cls) -> set[str] | None:
    """The keyword arguments ``cls``'s constructor takes (None: any, it has **kwargs)."""
    parameters = inspect.signature(cls.__init__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return None
    return {n for n in parameters if n not in ("self", "params")}


def build_any(spec: str, params, **hyperparameters) -> torch.optim.Optimizer:
    """``build_optimizer`` for a name of this library, else the class ``spec`` names (``module:Class``)
    built with ``hyperparameters`` as they are."""
    if str(spec).lower() in OPTIMIZERS:
        return build_optimizer(spec, params, **hyperparameters)
    return resolve_optimizer(spec)(params, **hyperparameters)
