"""Thin fairseq wrappers around the optim_plugins classes: a dataclass config and a name each.

Names: ``adashift``, ``amsgrad``, ``adamnc``, ``adamal``, ``adopt``, and ``plugin_adam`` for this project's
Adam (fairseq's built-in ``adam`` keeps its name). The flags are fairseq adam's, so switching
``--optimizer adam`` to any of these keeps ``--adam-betas``, ``--adam-eps`` and ``--weight-decay``
meaning the same: weight decay is decoupled (AdamW-style) like fairseq's adam, unless
``--weight-decay-mode l2`` (AdamNC always uses L2). AdamNC reads beta1 from ``--adam-betas``
(its beta2 is not used: v is the exact mean of the squared gradients).

Bad flags end in one line naming the flag (``fairseq-train: error: Invalid --keep-num: 0 ...``,
see :class:`FlagError`). On resume the checkpoint's optimizer state must fit the command line:
a checkpoint trained with other ``--keep-num``/``--reduce``/``--adam-betas``/``--adam-eps``/
``--weight-decay`` is refused, naming the differing flags, instead of silently continuing with
the checkpoint's values while the saved config records the new ones. ``--optimizer-overrides``
may change the hyperparameters that do not shape the state (lr, betas, eps, weight decay), and
``--reset-optimizer`` starts the optimizer afresh.

``--optimizer-diagnostics N`` attaches :class:`optim_plugins.diagnostics.DecorrelationProbe` every
N updates and logs its statistics through fairseq's own metrics (``diag_corr``,
``diag_net_update_ratio``, ``diag_v_unchanged``, ``diag_gated``), so they appear beside loss and lr
in the log and under ``--tensorboard-logdir``.

Capabilities: parameters must not be flattened into one tensor for AdaShift with
``--reduce max/mean`` (phi would become one global max), so AdaShift declares
``supports_flat_params = False`` whenever its reduce is not elementwise. Every adapter supports
``--memory-efficient-fp16``: the optimizers keep float32 state for fp16/bf16 parameters.
"""

import ast
import json
import os
import re
import sys
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, List, Optional

from fairseq.dataclass import ChoiceEnum, FairseqDataclass
from fairseq.logging import metrics
from fairseq.optim import OPTIMIZER_REGISTRY, FairseqOptimizer, register_optimizer
from omegaconf import II, OmegaConf

from ..adashift import REDUCTIONS
from ..diagnostics import DecorrelationProbe
from ..registry import accepted_keywords, build_optimizer, optimizer_kwargs, resolve_optimizer

# No `from __future__ import annotations` here: fairseq reads the dataclass field types at run time.
WEIGHT_DECAY_MODES = ChoiceEnum(["decoupled", "l2"])
DIAGNOSTICS_HELP = ("every N updates, log the correlation of |g| with the step size and related statistics "
                    "(optim_plugins.diagnostics) as diag_* metrics; 0: off")
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
    optimizer_diagnostics: int = field(default=0, metadata={"help": DIAGNOSTICS_HELP})
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
class ADOPTConfig(AdamFamilyConfig):
    adam_betas: Any = field(default="(0.9, 0.9999)", metadata={"help": "betas (beta1, beta2); ADOPT's default"})
    adam_eps: float = field(default=1e-6, metadata={"help": "epsilon: g / max(sqrt(v), eps) (ADOPT's default 1e-6)"})
    clip_exponent: Optional[float] = field(
        default=0.25,
        metadata={"help": "clip g / max(sqrt(v), eps) to +-s^c after s updates (the authors' default 0.25); "
                          "a negative value switches the clipping off"},
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
    optimizer_diagnostics: int = field(default=0, metadata={"help": DIAGNOSTICS_HELP})
    lr: List[float] = II("optimization.lr")


# The optimizers' hyperparameter names -> the fairseq flags that set them.
FLAGS = {"lr": "--lr", "betas": "--adam-betas", "beta1": "--adam-betas", "beta2": "--adam-betas",
         "eps": "--adam-eps", "weight_decay": "--weight-decay", "decoupled_weight_decay": "--weight-decay-mode",
         "keep_num": "--keep-num", "reduce": "--reduce", "beta1_decay": "--beta1-decay",
         "lr_decay": "--adamnc-lr-decay", "clip_exponent": "--clip-exponent"}


class FlagError(ValueError):
    """A bad optimizer flag or a checkpoint that does not fit them; fairseq-train prints it as one line."""


def _with_flag_names(error: ValueError) -> str:
    """'Invalid keep_num: 0 (...)' -> 'Invalid --keep-num: 0 (...)'."""
    return re.sub(r"\bInvalid (\w+):", lambda m: f"Invalid {FLAGS.get(m.group(1), m.group(1))}"
                  + (f" ({m.group(1)})" if m.group(1) in ("beta1", "beta2") else "") + ":", str(error))


def parse_betas(value) -> tuple:
    """'(0.9, 0.98)' (fairseq's string form) or a list/tuple -> a tuple of two floats."""
    original = value
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            value = None
    elif not isinstance(value, (list, tuple)):
        value = OmegaConf.to_container(value) if OmegaConf.is_config(value) else value
    if not isinstance(value, (list, tuple)) or len(value) != 2 or not all(
            isinstance(b, (int, float)) and not isinstance(b, bool) for b in value):
        raise FlagError(f"Invalid --adam-betas: {original!r} (expected a pair like '(0.9, 0.999)')")
    return tuple(float(b) for b in value)


class PluginOptimizer(FairseqOptimizer):
    """Builds the suite optimizer ``name`` through the registry; everything else is FairseqOptimizer's."""

    name: str  # the optim_plugins registry name

    def __init__(self, cfg, params):
        super().__init__(cfg)
        try:
            self._optimizer = build_optimizer(self.name, params, **self.optimizer_config)
        except ValueError as error:
            raise FlagError(_with_flag_names(error)) from None
        every = getattr(cfg, "optimizer_diagnostics", 0) or 0
        if every < 0:
            raise FlagError(f"Invalid --optimizer-diagnostics: {every} (expected N >= 1, or 0 for off)")
        self._probe = DecorrelationProbe(self._optimizer, every=every) if every else None

    def step(self, closure=None, scale=1.0, groups=None):
        super().step(closure, scale, groups)
        if self._probe is not None and self._probe.updated:
            for name, value in self._probe.summary().items():
                metrics.log_scalar(f"diag_{name}", value, weight=1, round=4)

    def load_state_dict(self, state_dict, optimizer_overrides=None):
        """fairseq's (load, then apply ``--optimizer-overrides``), then check the result fits.

        The state must fit the groups (so keep_num/reduce cannot be overridden mid-run) and the
        hyperparameters must be the command line's, overrides applied: fairseq would otherwise
        keep the checkpoint's values while the saved config records the command line's.
        """
        wanted = self.optimizer_config
        try:
            super().load_state_dict(state_dict, optimizer_overrides)
            self._optimizer.check_state()
        except ValueError as error:
            raise FlagError(f"the checkpoint's optimizer state does not fit --optimizer "
                            f"{getattr(self.cfg, '_name', None)}: {_with_flag_names(error)}") from None
        overrides = optimizer_overrides or {}
        differing = sorted({key for group in self.param_groups for key, value in wanted.items()
                            if key != "lr" and key not in overrides and key in group and group[key] != value})
        if differing:
            saved = {k: self.param_groups[0][k] for k in differing}
            raise FlagError(
                "the checkpoint was trained with "
                + ", ".join(f"{FLAGS.get(k, k)} {saved[k]!r}" for k in differing)
                + " but the command line says " + ", ".join(f"{FLAGS.get(k, k)} {wanted[k]!r}" for k in differing)
                + ": give the checkpoint's values, change them with --optimizer-overrides (not keep_num or "
                  "reduce), or start the optimizer afresh with --reset-optimizer")

    @property
    def learning_rate(self) -> float:
        return self.cfg.lr[0] if isinstance(self.cfg.lr, Collection) else self.cfg.lr

    @property
    def extras(self) -> dict:
        """This optimizer's own options from its flags (none for the Adam family)."""
        return {}

    @property
    def optimizer_config(self) -> dict:
        mode = getattr(self.cfg, "weight_decay_mode", None)  # AdamNC has none: L2
        return optimizer_kwargs(self.name, lr=self.learning_rate, betas=parse_betas(self.cfg.adam_betas),
                                eps=self.cfg.adam_eps, weight_decay=self.cfg.weight_decay,
                                decoupled_weight_decay=None if mode is None else str(mode) == "decoupled",
                                **self.extras)

    @property
    def supports_flat_params(self) -> bool:
        return True  # elementwise rules: one flat tensor updates exactly like the parts

    @property
    def supports_memory_efficient_fp16(self) -> bool:
        return True


class PluginAdam(PluginOptimizer):
    name = "adam"


class PluginAMSGrad(PluginOptimizer):
    name = "amsgrad"


class PluginAdamAL(PluginOptimizer):
    name = "adamal"


class PluginAdaShift(PluginOptimizer):
    name = "adashift"

    @property
    def extras(self) -> dict:
        # str(): fairseq hands choices over as Enum members, which must not reach the pickled state
        return {"keep_num": self.cfg.keep_num, "reduce": str(self.cfg.reduce)}

    @property
    def supports_flat_params(self) -> bool:
        return self.cfg.reduce == "none"


class PluginADOPT(PluginOptimizer):
    name = "adopt"

    @property
    def extras(self) -> dict:
        exponent = self.cfg.clip_exponent
        return {"clip_exponent": None if exponent is None or exponent < 0 else exponent}


class PluginAdamNC(PluginOptimizer):
    name = "adamnc"

    @property
    def extras(self) -> dict:
        return {"beta1_decay": self.cfg.beta1_decay, "lr_decay": self.cfg.adamnc_lr_decay}


ADAPTERS = {
    "plugin_adam": (PluginAdam, AdamFamilyConfig),
    "amsgrad": (PluginAMSGrad, AdamFamilyConfig),
    "adamal": (PluginAdamAL, AdamFamilyConfig),
    "adashift": (PluginAdaShift, AdaShiftConfig),
    "adamnc": (PluginAdamNC, AdamNCConfig),
    "adopt": (PluginADOPT, ADOPTConfig),
}


def install_error_hook() -> None:
    """Print a :class:`FlagError` (or a corrupt checkpoint) reaching the top as one line, not a traceback."""
    from .safe_loading import CorruptCheckpoint  # noqa: PLC0415

    previous = sys.excepthook
    if getattr(previous, "_optim_plugins", False):
        return

    def hook(kind, value, traceback):
        prog = os.path.basename(sys.argv[0]) or "fairseq"
        switched = _optimizer_switch(value)
        if isinstance(value, (FlagError, CorruptCheckpoint)):
            print(f"{prog}: error: {value}", file=sys.stderr)
        elif switched:
            print(f"{prog}: error: {switched}", file=sys.stderr)
        else:
            previous(kind, value, traceback)

    hook._optim_plugins = True
    sys.excepthook = hook


def _optimizer_name(class_name: str) -> str:
    """fairseq's --optimizer name of an optimizer class name (the class name when unknown)."""
    for name, cls in OPTIMIZER_REGISTRY.items():
        if cls.__name__ == class_name:
            return name
    return class_name


def _optimizer_switch(error) -> str | None:
    """The one-line message for fairseq's assertion on resuming a checkpoint with another
    --optimizer (trainer.load_checkpoint: "Optimizer does not match ... A vs B"), else None."""
    if not isinstance(error, AssertionError):
        return None
    match = re.match(r"Optimizer does not match.*?(\w+) vs (\w+)\s*$", str(error), re.S)
    if not match:
        return None
    saved, now = (_optimizer_name(n) for n in match.groups())
    return (f"the checkpoint was trained with --optimizer {saved} but the command line says --optimizer {now}: "
            f"resume with --optimizer {saved}, or keep --optimizer {now} and start its state afresh with "
            f"--reset-optimizer")


def register_all() -> None:
    """Register every adapter with fairseq; names already registered are left alone."""
    for name, (cls, config) in ADAPTERS.items():
        if name not in OPTIMIZER_REGISTRY:
            register_optimizer(name, dataclass=config)(cls)


@dataclass
class TorchOptimizerConfig(FairseqDataclass):
    optimizer_class: str = field(default="", metadata={
        "help": "any torch.optim.Optimizer by import path: module.Class or module:Class (torch.optim.NAdam)"})
    optimizer_kwargs: str = field(default="{}", metadata={
        "help": "its other constructor keywords as a JSON object, e.g. '{\"momentum_decay\": 0.004}'"})
    adam_betas: Optional[str] = field(default=None, metadata={"help": "betas, passed where the class takes betas"})
    adam_eps: Optional[float] = field(default=None, metadata={"help": "eps, passed where the class takes eps"})
    weight_decay: float = field(default=0.0, metadata={"help": "weight decay, passed where the class takes it"})
    lr: List[float] = II("optimization.lr")


class TorchOptimizer(FairseqOptimizer):
    """``--optimizer torch --optimizer-class torch.optim.NAdam --optimizer-kwargs '{...}'``: any
    torch optimizer, no code. fairseq's ``--lr``, ``--adam-betas``, ``--adam-eps`` and
    ``--weight-decay`` reach it where its constructor takes them; a class that cannot be imported,
    is not an Optimizer, or does not take a given hyperparameter is one line. Its update rule is
    unknown here, so its parameters are never flattened into one tensor (with ``--fp16`` add
    ``--fp16-no-flatten-grads``, as fairseq asks of such optimizers)."""

    def __init__(self, cfg, params):
        super().__init__(cfg)
        if not cfg.optimizer_class:
            raise FlagError("--optimizer torch needs --optimizer-class (e.g. torch.optim.NAdam)")
        try:
            self.optimizer_class = resolve_optimizer(cfg.optimizer_class)
        except ValueError as error:
            raise FlagError(f"--optimizer-class: {error}") from None
        self.names = accepted_keywords(self.optimizer_class)
        self._optimizer = self.optimizer_class(params, **self.optimizer_config)

    def _takes(self, name: str) -> bool:
        return self.names is None or name in self.names

    @property
    def optimizer_config(self) -> dict:
        try:
            kwargs = json.loads(self.cfg.optimizer_kwargs or "{}")
        except json.JSONDecodeError as error:
            raise FlagError(f"--optimizer-kwargs {self.cfg.optimizer_kwargs!r}: not JSON ({error.msg})") from None
        if not isinstance(kwargs, dict):
            raise FlagError(f"--optimizer-kwargs {self.cfg.optimizer_kwargs!r}: expected a JSON object")
        kwargs["lr"] = self.cfg.lr[0] if isinstance(self.cfg.lr, Collection) else self.cfg.lr
        given = {"betas": parse_betas(self.cfg.adam_betas) if self.cfg.adam_betas is not None else None,
                 "eps": self.cfg.adam_eps, "weight_decay": self.cfg.weight_decay or None}
        for name, value in given.items():
            if value is None:
                continue
            if not self._takes(name):
                raise FlagError(f"{self.cfg.optimizer_class} takes no {name} ({FLAGS[name]} given)")
            kwargs[name] = value
        unknown = sorted(k for k in kwargs if not self._takes(k))
        if unknown:
            raise FlagError(f"--optimizer-kwargs: {self.cfg.optimizer_class} does not take {', '.join(unknown)} "
                            f"(its constructor takes: {', '.join(sorted(self.names))})")
        return kwargs

    @property
    def supports_flat_params(self) -> bool:
        return False


ADAPTERS["torch"] = (TorchOptimizer, TorchOptimizerConfig)
