"""The counterexamples as gradient sequences, and the optimizer settings compared on them.

Both are online problems whose gradient does not depend on x, so a run is fully described by
its gradient sequence g_1..g_T (one row per independent run).

* Sequential (Reddi et al.): f_t(x) = C x when t mod d == 1, else -x, on [-1, 1]. Over a period
  the sum is C - (d - 1) > 0, so the optimum is x = -1. Reddi's Figure 1 uses -10x on the other
  steps (sum C - 10(d - 1) = 10 > 0 for C = 1010, d = 101): setting 'reddi-fig1'.
* Stochastic (the AdaShift authors' release): g_t = C with probability p = (1 + delta)/(C + 1),
  else -1. E[g] = delta > 0, so the right direction is theta -> -infinity.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from optim_plugins import OPTIMIZERS, optimizer_kwargs
from optim_plugins.registry import accepted_keywords, resolve_optimizer


@dataclass(frozen=True)
class Sequential:
    C: float
    d: int
    other: float = -1.0  # the gradient on the d-1 other steps (Reddi's Figure 1 uses -10)
    bounds: tuple[float, float] = (-1.0, 1.0)

    def gradients(self, steps: int, runs: int = 1) -> np.ndarray:
        t = np.arange(1, steps + 1)
        row = np.where(t % self.d == 1, float(self.C), float(self.other))
        return np.broadcast_to(row, (runs, steps)).copy()


@dataclass(frozen=True)
class Stochastic:
    C: float = 101.0
    delta: float = 0.02

    @property
    def p(self) -> float:
        return (1 + self.delta) / (self.C + 1)

    def gradients(self, steps: int, runs: int = 1, seed: int = 0) -> np.ndarray:
        rng = np.random.default_rng(seed)
        draws = rng.random((runs, steps), dtype=np.float64)
        return np.where(draws < self.p, float(self.C), -1.0)


@dataclass(frozen=True)
class OptimizerSetting:
    """An optimizer name of ``optim_plugins`` with its hyperparameters and step-size schedule.

    ``schedule="inv_sqrt"`` means lr_t = lr / sqrt(t) (AdamNC does this itself via lr_decay).
    ``hyperparameters`` speak the common vocabulary of ``optim_plugins.optimizer_kwargs`` (betas for
    every optimizer, extras such as keep_num); :meth:`kwargs` turns them into constructor arguments.
    """

    label: str
    name: str
    hyperparameters: dict = field(default_factory=dict)
    lr: float = 1e-3
    schedule: str = "constant"

    def kwargs(self) -> dict:
        """The optimizer's constructor arguments (lr included), through the registry's one mapping; an
        outside optimizer (module:Class) gets its hyperparameters as given, those it takes."""
        if self.name not in OPTIMIZERS:
            takes = accepted_keywords(resolve_optimizer(self.name))
            return {"lr": self.lr, **{k: v for k, v in self.hyperparameters.items() if takes is None or k in takes}}
        return optimizer_kwargs(self.name, lr=self.lr, **self.hyperparameters)

    def lr_at(self, steps: int) -> np.ndarray:
        t = np.arange(1, steps + 1, dtype=np.float64)
        return self.lr / np.sqrt(t) if self.schedule == "inv_sqrt" else np.full(steps, self.lr)


SEQUENTIAL_SETTINGS = ("reddi", "large", "reddi-fig1")


def sequential_settings(kind: str) -> tuple[Sequential, list[OptimizerSetting]]:
    """lr_t = 1/sqrt(t) throughout, x_0 = 0.

    'reddi': d = 3, C = 3 (> 2), beta1 = 0, beta2 = 1/(1+C^2) (Reddi's Theorem 1).
    'large': C = 1010, d = 101, beta1 = 0.9, beta2 = 0.99, -x on the other steps (the setting
    used by AdaShift reproductions). 'reddi-fig1': the same with -10x on the other steps.
    """
    if kind not in SEQUENTIAL_SETTINGS:
        raise ValueError(f"Unknown sequential setting {kind!r}; choose one of {SEQUENTIAL_SETTINGS}")
    if kind == "reddi":
        problem, beta1, beta2 = Sequential(C=3.0, d=3), 0.0, 1 / (1 + 3.0**2)
    else:
        other = -10.0 if kind == "reddi-fig1" else -1.0
        problem, beta1, beta2 = Sequential(C=1010.0, d=101, other=other), 0.9, 0.99
    betas = (beta1, beta2)
    settings = [
        OptimizerSetting("Adam", "adam", {"betas": betas}, 1.0, "inv_sqrt"),
        OptimizerSetting("AMSGrad", "amsgrad", {"betas": betas}, 1.0, "inv_sqrt"),
        OptimizerSetting("AdamNC", "adamnc", {"betas": betas, "lr_decay": True}, 1.0),
        OptimizerSetting("AdaShift", "adashift", {"betas": betas, "keep_num": 10, "reduce": "none"},
                         1.0, "inv_sqrt"),
        OptimizerSetting("AdamAL", "adamal", {"betas": betas}, 1.0, "inv_sqrt"),
        OptimizerSetting("ADOPT", "adopt", {"betas": betas}, 1.0, "inv_sqrt"),
    ]
    return problem, settings


def stochastic_settings() -> tuple[Stochastic, list[OptimizerSetting]]:
    """The authors' stochastic experiment: lr 1e-3, beta2 0.999, eps 1e-8."""
    common = {"eps": 1e-8}
    settings = [
        OptimizerSetting("Adam beta1=0", "adam", {"betas": (0.0, 0.999), **common}),
        OptimizerSetting("Adam beta1=0.9", "adam", {"betas": (0.9, 0.999), **common}),
        OptimizerSetting("AMSGrad beta1=0", "amsgrad", {"betas": (0.0, 0.999), **common}),
        OptimizerSetting("AdaShift n=1 beta1=0", "adashift",
                         {"betas": (0.0, 0.999), "keep_num": 1, "reduce": "none", **common}),
        OptimizerSetting("ADOPT beta1=0", "adopt", {"betas": (0.0, 0.999), **common}),
        OptimizerSetting("ADOPT no clip beta1=0", "adopt", {"betas": (0.0, 0.999), "clip_exponent": None, **common}),
    ]
    return Stochastic(), settings


BETA2_MAP_OPTIMIZERS = {  # beta1 = 0 for all, so only the second moment differs
    "Adam": ("adam", {}), "AMSGrad": ("amsgrad", {}), "AdaShift n=1": ("adashift", {"keep_num": 1, "reduce": "none"}),
    "ADOPT": ("adopt", {}), "ADOPT no clip": ("adopt", {"clip_exponent": None}),
}


def beta2_settings(beta2: float) -> list[OptimizerSetting]:
    """The stochastic problem's optimizers at one beta2 (lr 1e-3, beta1 0, eps 1e-8): the rows of the
    beta2 axis of the non-convergence map."""
    return [OptimizerSetting(label, name, {"betas": (0.0, beta2), "eps": 1e-8, **extra})
            for label, (name, extra) in BETA2_MAP_OPTIMIZERS.items()]
