r"""Decorrelation diagnostics for any training loop: ``DecorrelationProbe(optimizer, every=10)``.

The papers behind these optimizers explain Adam's non-convergence by the correlation between the
current gradient g_t and its own step size lr/sqrt(v_t): a large |g_t| inflates v_t and so gets a
*smaller* step (negative correlation, a net update factor below 1). AdaShift builds v from
g_{t-n} and ADOPT normalises g_t by v_{t-1}, so for them the correlation should be near zero.

Every ``every`` optimizer steps the probe reads, for a fixed random sample of up to ``sample``
elements of each parameter tensor, x = |g_t| and y = the effective step size the update applied
to g_t (per optimizer, below), and keeps exponentially weighted sums (``decay`` per observation)
of x, y, x^2, y^2, xy per element. From them, per tensor, the median over its sampled elements of

* ``corr``: the Pearson correlation of x and y over time;
* ``net_update_ratio``: E[x y] / (E[x] E[y]), the gradient-weighted mean step over the plain mean
  step (1: the step size ignores the gradient's size; < 1: large gradients get smaller steps);

and, per step observed: ``v_unchanged``, the fraction of sampled elements whose denominator did
not change (AMSGrad's running max and AdamAL's non-decreasing v: the AdamAL paper's 'swap'
statistic), and for AdaShift ``gated``, the fraction of elements whose gate is still closed.
:meth:`DecorrelationProbe.summary` gives the medians over tensors (``corr``, ``net_update_ratio``)
and the means (``v_unchanged``, ``gated``) as one flat dict of floats, ready for a logger.

Effective step y of each optimizer (t the step, k AdaShift's steps since its gate opened):

| optimizer | y |
|---|---|
| Adam, AdamAL | lr / (1 - beta1^t) / (sqrt(v_t / (1 - beta2^t)) + eps) |
| AMSGrad | the same with vhat_t (the running max) |
| AdamNC | lr_t / (sqrt(v_t) + eps) |
| AdaShift | lr / (sqrt(v_t / max(1e-8, 1 - beta2^k)) + eps) where the gate is open, else 0 |
| ADOPT | lr / max(sqrt(v_{t-1}), eps) (v before this step's update) |

Cost: two small gathers per tensor every ``every`` steps, nothing on the other steps. The probe
uses the optimizer's step hooks (``register_step_pre_hook``/``register_step_post_hook``) and
never changes the optimizer or its state; ``remove()`` detaches it.
"""

from __future__ import annotations

import math

import torch

from ._base import AdaptiveOptimizer
from .adam import AMSGrad
from .adamnc import AdamNC
from .adashift import AdaShift
from .adopt import ADOPT

STATISTICS = ("corr", "net_update_ratio", "v_unchanged", "gated")


def _denominator_key(optimizer) -> str:
    return "max_exp_avg_sq" if isinstance(optimizer, AMSGrad) else "exp_avg_sq"


def _effective_step(optimizer, group: dict, state: dict, v_before, v_after, index, step: int) -> torch.Tensor:
    """y for the sampled elements ``index`` of one tensor (float64)."""
    lr, eps = group["lr"], group["eps"]
    if isinstance(optimizer, ADOPT):
        return lr / torch.clamp(v_before.sqrt(), min=eps)
    if isinstance(optimizer, AdamNC):
        lr_t = lr / math.sqrt(step) if group["lr_decay"] else lr
        return lr_t / (v_after.sqrt() + eps)
    beta1, beta2 = group["betas"]
    if isinstance(optimizer, AdaShift):
        since = state["active_since"].reshape(-1)
        since = since[index] if since.numel() > 1 else since.expand(len(index))
        since = since.double()
        k = torch.where(since > 0, step - since + 1, torch.zeros_like(since))
        correction = torch.clamp(1 - torch.pow(beta2, k), min=1e-8)
        v = v_after if v_after.numel() == len(index) else v_after.expand(len(index))
        return torch.where(since > 0, lr / ((v / correction).sqrt() + eps), torch.zeros_like(v))
    return lr / (1 - beta1**step) / ((v_after / (1 - beta2**step)).sqrt() + eps)


class DecorrelationProbe:
    """See the module docstring. ``probe = DecorrelationProbe(optimizer, every=10)``; after any step,
    ``probe.summary()`` (or None before the first observation); ``probe.updated`` is True right
    after a step that was observed."""

    def __init__(self, optimizer, every: int = 10, sample: int = 256, decay: float = 0.995, seed: int = 0):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"Invalid every: {every!r} (expected an integer >= 1)")
        if isinstance(sample, bool) or not isinstance(sample, int) or sample < 2:
            raise ValueError(f"Invalid sample: {sample!r} (expected an integer >= 2)")
        if not 0 < decay < 1:
            raise ValueError(f"Invalid decay: {decay!r} (expected 0 < decay < 1)")
        if not isinstance(optimizer, AdaptiveOptimizer):
            raise ValueError(f"DecorrelationProbe supports the optim_plugins optimizers, not {type(optimizer).__name__}")
        self.optimizer, self.every, self.sample, self.decay = optimizer, every, sample, decay
        self.generator = torch.Generator().manual_seed(seed)
        self.calls, self.updated = 0, False
        self._index: dict[int, torch.Tensor] = {}
        self._sums: dict[int, torch.Tensor] = {}  # per tensor: (6, sample) EW n, x, y, x^2, y^2, xy
        self._latest: dict[str, float] | None = None
        self._before: dict[int, tuple] = {}
        self._handles = [optimizer.register_step_pre_hook(self._pre), optimizer.register_step_post_hook(self._post)]

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()

    # -- hooks --------------------------------------------------------------------------------
    def _observed(self) -> bool:
        return self.calls % self.every == 0

    def _params(self):
        for group in self.optimizer.param_groups:
            for param in group["params"]:
                if param.grad is not None and not param.grad.is_sparse:
                    yield group, param

    def _indices(self, param) -> torch.Tensor:
        key = id(param)
        if key not in self._index:
            n = param.numel()
            self._index[key] = (torch.randperm(n, generator=self.generator)[: self.sample] if n > self.sample
                                else torch.arange(n))
        return self._index[key]

    def _pre(self, optimizer, args, kwargs) -> None:
        self.calls += 1
        self.updated = False
        if not self._observed():
            return
        key = _denominator_key(optimizer)
        self._before = {}
        for _, param in self._params():
            index = self._indices(param).to(param.device)
            grad = param.grad.reshape(-1)[index].double().abs().cpu()
            v = optimizer.state[param].get(key)
            v_before = None if v is None else (v.reshape(-1)[index] if v.numel() > 1 else v.reshape(1)).double().cpu()
            self._before[id(param)] = (grad, v_before)

    @torch.no_grad()
    def _post(self, optimizer, args, kwargs) -> None:
        if not self._observed() or not self._before:
            return
        key = _denominator_key(optimizer)
        corr, ratio, unchanged, gated = [], [], [], []
        for group, param in self._params():
            if id(param) not in self._before:
                continue
            x, v_before = self._before[id(param)]
            state = optimizer.state[param]
            if key not in state or v_before is None:  # the first step created the state: nothing to compare
                continue
            index = self._indices(param).to(param.device)
            v = state[key]
            v_after = (v.reshape(-1)[index] if v.numel() > 1 else v.reshape(1)).double().cpu()
            step = int(state["step"].item())
            y = _effective_step(optimizer, group, state, v_before, v_after, index.cpu(), step).double()
            unchanged.append(float((v_after == v_before).double().mean()))
            if isinstance(optimizer, AdaShift):
                gated.append(float((state["active_since"] == 0).double().mean()))
            if isinstance(optimizer, ADOPT) and step == 1:
                continue  # nothing moved yet
            sums = self._sums.setdefault(id(param), torch.zeros(6, len(x), dtype=torch.float64))
            sums.mul_(self.decay).add_(torch.stack([torch.ones_like(x), x, y, x * x, y * y, x * y]))
            n, sx, sy, sxx, syy, sxy = sums
            mx, my = sx / n, sy / n
            cov, vx, vy = sxy / n - mx * my, sxx / n - mx * mx, syy / n - my * my
            valid = (vx > 1e-30 * mx * mx) & (vy > 1e-30 * my * my) & (n > 1.5)
            if valid.any():
                corr.append(float((cov[valid] / (vx[valid] * vy[valid]).sqrt()).clamp(-1, 1).median()))
            positive = (mx > 0) & (my > 0)
            if positive.any():
                ratio.append(float(((sxy / n)[positive] / (mx * my)[positive]).median()))
        self._before = {}
        summary = {}
        if corr:
            summary["corr"] = float(torch.tensor(corr).median())
        if ratio:
            summary["net_update_ratio"] = float(torch.tensor(ratio).median())
        if unchanged:
            summary["v_unchanged"] = sum(unchanged) / len(unchanged)
        if gated:
            summary["gated"] = sum(gated) / len(gated)
        if summary:
            self._latest, self.updated = summary, True

    def summary(self) -> dict[str, float] | None:
        return None if self._latest is None else dict(self._latest)
