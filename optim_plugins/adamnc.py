r"""AdamNC (Reddi et al., 'On the Convergence of Adam and Beyond'): Adam with a non-constant beta2.

At step t >= 1, with g_t the gradient (plus ``weight_decay * p``)::

    beta1_t = beta1 * beta1_decay^(t-1)
    m_t     = beta1_t m_{t-1} + (1 - beta1_t) g_t
    v_t     = (1 - 1/t) v_{t-1} + (1/t) g_t^2          (the exact mean of g_1^2 .. g_t^2)
    lr_t    = lr / sqrt(t)  if lr_decay  else  lr
    p_t     = p_{t-1} - lr_t * m_t / (sqrt(v_t) + eps)

No bias correction: the mean of squares is already unbiased, and m is left as the paper has it.

Fast path (the default): torch's fused Adam kernel, called with beta1_t, beta2_t = 1 - 1/t and a
step count of 1, whose bias corrections (1 - beta1_t, 1/t) are cancelled by its lr and eps
arguments (:func:`fused_adamnc_update`); equal to the reference path (``fused=False``) within
float rounding.

Groups hold beta1 as ``betas = (beta1,)``, a one-element tuple: beta2 is not a hyperparameter here
(it is the schedule 1 - 1/t), but torch's momentum-cycling schedulers (``OneCycleLR``,
``CyclicLR`` with ``cycle_momentum=True``) find beta1 in ``group["betas"][0]`` and rewrite just
that element, so they cycle AdamNC's beta1 as they do Adam's. The constructor takes ``beta1=``;
state dicts saved with a ``beta1`` group key (before this layout) still load.
"""

from __future__ import annotations

from functools import partial

import torch

from . import _validation as check
from ._base import AdaptiveOptimizer, apply_weight_decay, state_dtype


def adamnc_update(ops, params, grads, exp_avgs, exp_avg_sqs, *, step: int, lr: float,
                  beta1: float, beta1_decay: float, eps: float, lr_decay: bool,
                  weight_decay: float) -> None:
    """One step of the formulas in the module docstring for a list of tensors (in place)."""
    grads = apply_weight_decay(ops, params, grads, lr=lr, weight_decay=weight_decay, decoupled=False)
    beta1_t = beta1 * beta1_decay ** (step - 1)
    ops.lerp_(exp_avgs, grads, 1 - beta1_t)
    ops.lerp_(exp_avg_sqs, ops.mul(grads, grads), 1 / step)
    denom = ops.sqrt(exp_avg_sqs)
    ops.add_(denom, eps)
    lr_t = lr / step**0.5 if lr_decay else lr
    ops.addcdiv_(params, exp_avgs, denom, value=-lr_t)


def fused_adamnc_update(params, grads, exp_avgs, exp_avg_sqs, *, step: int, lr: float, beta1: float,
                        beta1_decay: float, eps: float, lr_decay: bool, weight_decay: float) -> None:
    """The same step through torch's fused Adam kernel (one pass over p, g, m, v).

    With beta2 = 1 - 1/t and step count 1 the kernel computes
    p -= lr' / c1 * m / (sqrt(v) / sqrt(c2) + eps') with c1 = 1 - beta1_t and c2 = 1/t; choosing
    lr' = lr_t * c1 / sqrt(c2) and eps' = eps / sqrt(c2) makes that lr_t * m / (sqrt(v) + eps).
    """
    beta1_t = beta1 * beta1_decay ** (step - 1)
    lr_t = lr / step**0.5 if lr_decay else lr
    c1, sqrt_c2 = 1 - beta1_t, (1 / step) ** 0.5
    ones = [torch.ones((), dtype=torch.float32, device=params[0].device)] * len(params)
    torch._fused_adam_(params, grads, exp_avgs, exp_avg_sqs, [], ones, lr=lr_t * c1 / sqrt_c2,
                       beta1=beta1_t, beta2=1 - 1 / step, weight_decay=weight_decay, eps=eps / sqrt_c2,
                       amsgrad=False, maximize=False)


class AdamNC(AdaptiveOptimizer):
    __doc__ = __doc__

    def __init__(self, params, lr=1e-3, beta1=0.9, beta1_decay=1.0, eps=1e-8, lr_decay=True,
                 weight_decay=0.0, *, foreach=None, fused=None,
                 maximize=False, capturable=False, differentiable=False):
        defaults = dict(lr=lr, betas=(beta1,), beta1_decay=beta1_decay, eps=eps, lr_decay=lr_decay,
                        weight_decay=weight_decay)
        super().__init__(params, defaults, foreach, fused, maximize, capturable, differentiable)

    def _validate_group(self, group):
        super()._validate_group(group)
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 1:
            raise ValueError(f"Invalid betas: {betas!r} for AdamNC (expected (beta1,): its beta2 is the "
                             f"schedule 1 - 1/t, not a hyperparameter; pass beta1=...)")
        check.check_beta("beta1", betas[0])
        check.check_flag("lr_decay", group["lr_decay"])
        decay = group["beta1_decay"]
        if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0 < decay <= 1:
            raise ValueError(f"Invalid beta1_decay: {decay!r} (expected 0 < beta1_decay <= 1)")

    def load_state_dict(self, state_dict: dict) -> None:
        """As the base class's; a group saved with the older ``beta1`` key is read as ``betas=(beta1,)``."""
        def old(group):
            return isinstance(group, dict) and "beta1" in group and "betas" not in group

        groups = state_dict.get("param_groups") if isinstance(state_dict, dict) else None
        if isinstance(groups, (list, tuple)) and any(map(old, groups)):
            state_dict = {**state_dict, "param_groups": [
                {**{k: v for k, v in g.items() if k != "beta1"}, "betas": (g["beta1"],)} if old(g) else g
                for g in groups]}
        super().load_state_dict(state_dict)

    def _init_state(self, param, state, group):
        state["exp_avg"] = torch.zeros_like(param, dtype=state_dtype(param))
        state["exp_avg_sq"] = torch.zeros_like(param, dtype=state_dtype(param))

    def _update(self, group, ops, params, grads, states, step):
        fused = group["fused"] is not False and params[0].device.type in ("cpu", "cuda")  # torch's kernel
        update = fused_adamnc_update if fused else partial(adamnc_update, ops)
        update(
            params, grads, states["exp_avg"], states["exp_avg_sq"], step=step,
            lr=group["lr"], beta1=group["betas"][0], beta1_decay=group["beta1_decay"],
            eps=group["eps"], lr_decay=group["lr_decay"], weight_decay=group["weight_decay"],
        )
