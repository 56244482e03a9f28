"""Thin fairseq wrappers around the optim_plugins classes: a dataclass config and a name each.

Names: ``adashift``, ``amsgrad``, ``adamnc``, ``adamal``, and ``plugin_adam`` for this project's
Adam (fairseq's built-in ``adam`` keeps its name). The flags are fairseq adam's, so switching
``--optimizer adam`` to any of these keeps ``--adam-betas``, ``--adam-eps`` and ``--weight-decay``
meaning the same: weight decay is decoupled (AdamW-style) like fairseq's adam, unless
``--weight-decay-mode l2`` (AdamNC always uses L2). AdamNC reads beta1 from ``--adam-betas``
(its beta2 is not used: v is the exact mean of the squared gradients).

Capabilities: parameters must not be flattened into one tensor for AdaShift with
``--reduce max/mean`` (phi would become one global max), so AdaShift declares
``supports_flat_params = False`` whenever its reduce is not elementwise. Every adapter supports
``--memory-efficient-fp16``: the optimizers keep float32 state for fp16/bf16 parameters.
"""

import ast
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, List

from fairseq.dataclass import ChoiceEnum, FairseqDataclass
from fairseq.optim import OPTIMIZER_REGISTRY, FairseqOptimizer, register_optimizer
from omegaconf import II, OmegaConf

from ..adam import Adam, AMSGrad
from ..adamal import AdamAL
from ..adamnc import AdamNC
from ..adashift import REDUCTIONS, AdaShift

# No `from __future__ import annotations` here: fairseq reads the dataclass field types at run time.
WEIGHT_DECAY_MODES = ChoiceEnum(["decoupled", "l2"])
REDUCE_CHOICES = ChoiceEnum(list(REDUCTIONS))

@dataclass
class AdamFamilyConfig(FairseqDataclass):
    adam_betas: Any = field(default="(0.9, 0.999)", metadata={"help": "betas (beta1, beta2)"})
    adam_eps: float = field(default=1e-8, metadata={"help": "epsilon added to the denominator"})
    weight_decay: float = field(default=0.0, metadata={"help": "weight decay"})
    weight_decay_mode: WEIGHT_DECAY_MODES = field(
        default="decoupled",
        metadata={"help": "decoupled (AdamW-style, as fairseq's adam) or l2 (added to the gradient)"},
    )
    lr: List[float] = II("optimization.lr")


@dataclass
class AdaShiftConfig(AdamFamilyConfig):
    adam_eps: float = field(default=1e-10, metadata={"help": "epsilon (the authors' default 1e-10)"})
    keep_num: int = field(
        default=10,
        metadata={"help": "AdaShift window n: v is built from the gradient n steps old, m from the "
                          "n newest gradients (the authors used 40 for NMT, 1 for WGAN)"},
    )
    reduce: REDUCE_CHOICES = field(
        default="max",
        metadata={"help": "phi applied to the shifted squared gradient: none (elementwise), or max / "
                          "mean over each parameter tensor (one v per tensor)"},
    )


@dataclass
class AdamNCConfig(FairseqDataclass):
    adam_betas: Any = field(default="(0.9, 0.999)", metadata={"help": "beta1 is read from here"})
    adam_eps: float = field(default=1e-8, metadata={"help": "epsilon added to the denominator"})
    weight_decay: float = field(default=0.0, metadata={"help": "L2 weight decay"})
    beta1_decay: float = field(default=1.0, metadata={"help": "beta1_t = beta1 * beta1_decay^(t-1)"})
    adamnc_lr_decay: bool = field(
        default=False,
        metadata={"help": "also divide lr by sqrt(t) (off by default: in fairseq the lr schedule "
                          "belongs to --lr-scheduler)"},
    )
    lr: List[float] = II("optimization.lr")


def parse_betas(value) -> tuple:
    """'(0.9, 0.98)' (fairseq's string form) or a list/tuple -> a tuple of floats."""
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            raise ValueError(f"Invalid --adam-betas: {value!r} (expected a pair like '(0.9, 0.999)')")
    if not isinstance(value, (list, tuple)):
        value = OmegaConf.to_container(value)
    return tuple(float(b) for b in value)


class PluginOptimizer(FairseqOptimizer):
    """Builds ``optimizer_class`` from ``optimizer_config``; everything else is FairseqOptimizer's."""

    optimizer_class: type

    def __init__(self, cfg, params):
        super().__init__(cfg)
        self._optimizer = self.optimizer_class(params, **self.optimizer_config)

    @property
    def learning_rate(self) -> float:
        return self.cfg.lr[0] if isinstance(self.cfg.lr, Collection) else self.cfg.lr

    @property
    def optimizer_config(self) -> dict:
        return {
            "lr": self.learning_rate,
            "betas": parse_betas(self.cfg.adam_betas),
            "eps": self.cfg.adam_eps,
            "weight_decay": self.cfg.weight_decay,
            "decoupled_weight_decay": str(self.cfg.weight_decay_mode) == "decoupled",
        }

    @property
    def supports_flat_params(self) -> bool:
        return True  # elementwise rules: one flat tensor updates exactly like the parts

    @property
    def supports_memory_efficient_fp16(self) -> bool:
        return True


class PluginAdam(PluginOptimizer):
    optimizer_class = Adam


class PluginAMSGrad(PluginOptimizer):
    optimizer_class = AMSGrad


class PluginAdamAL(PluginOptimizer):
    optimizer_class = AdamAL


class PluginAdaShift(PluginOptimizer):
    optimizer_class = AdaShift

    @property
    def optimizer_config(self) -> dict:
        # str(): fairseq hands choices over as Enum members, which must not reach the pickled state
        return {**super().optimizer_config, "keep_num": self.cfg.keep_num, "reduce": str(self.cfg.reduce)}

    @property
    def supports_flat_params(self) -> bool:
        return self.cfg.reduce == "none"


class PluginAdamNC(PluginOptimizer):
    optimizer_class = AdamNC

    @property
    def optimizer_config(self) -> dict:
        return {
            "lr": self.learning_rate,
            "beta1": parse_betas(self.cfg.adam_betas)[0],
            "beta1_decay": self.cfg.beta1_decay,
            "eps": self.cfg.adam_eps,
            "lr_decay": self.cfg.adamnc_lr_decay,
            "weight_decay": self.cfg.weight_decay,
        }


ADAPTERS = {
    "plugin_adam": (PluginAdam, AdamFamilyConfig),
    "amsgrad": (PluginAMSGrad, AdamFamilyConfig),
    "adamal": (PluginAdamAL, AdamFamilyConfig),
    "adashift": (PluginAdaShift, AdaShiftConfig),
    "adamnc": (PluginAdamNC, AdamNCConfig),
}


def register_all() -> None:
    """Register every adapter with fairseq; names already registered are left alone."""
    for name, (cls, config) in ADAPTERS.items():
        if name not in OPTIMIZER_REGISTRY:
            register_optimizer(name, dataclass=config)(cls)
