r"""AdaShift (Zhou et al., ICLR 2019), as in the authors' TensorFlow release (``optimizer_all.py``).

The second moment is built from the gradient n = keep_num steps old, which is independent of
the current gradient g_t; the first moment is a beta1-weighted average of the n newest gradients.
At step t >= 1 (g_s = 0 for s <= 0, i.e. the window starts zero-filled)::

    v_t     = beta2 v_{t-1} + (1 - beta2) phi(g_{t-n}^2)    phi: identity ("none"), or the max or
                                                             mean over the whole tensor ("max",
                                                             "mean": one v per parameter tensor)
    m_t     = sum_{i<n} beta1^i g_{t-i} / sum_{i<n} beta1^i  (no bias correction)
    z_t     = z_{t-1} or (v_t > 0)                           per element of v
    k_t     = number of steps so far with z on               (bias correction counts from there)
    p_t     = p_{t-1} - lr * z_t * m_t / (sqrt(v_t / max(1e-8, 1 - beta2^k_t)) + eps)

So nothing moves in the first n steps, and an element whose v is still zero (for example an
embedding row whose token has not been seen n steps ago) does not move at all instead of being
divided by eps. Weight decay: coupled adds ``weight_decay * p`` to g_t before it enters the
window; decoupled multiplies p by (1 - lr * weight_decay) every step.

State per parameter: ``window`` (n slots, a ring buffer: g_t is written into the slot that held
g_{t-n}, slot (t-1) mod n), ``exp_avg_sq`` (v; shape () for "max"/"mean"), ``active_steps``
(k_t, same shape as v; z_t = k_t > 0) and ``step``. All are tensors, so ``load_state_dict``
restores a run in the middle of its window exactly.
"""

from __future__ import annotations

import torch

from . import _validation as check
from ._base import AdaptiveOptimizer, state_dtype

REDUCTIONS = ("none", "max", "mean")


def _reduce_squares(ops, gradients, reduce: str):
    """phi(g^2): elementwise, or the max / mean of g^2 over each whole tensor."""
    if reduce == "none":
        return ops.mul(gradients, gradients)
    norms = ops.norm(gradients, float("inf") if reduce == "max" else 2)
    squares = ops.mul(norms, norms)  # (max|g|)^2 == max(g^2); ||g||^2 / numel == mean(g^2)
    if reduce == "mean":
        squares = ops.div(squares, [float(g.numel()) for g in gradients])
    return squares


def adashift_update(ops, params, grads, windows, exp_avg_sqs, active_steps, *, step: int,
                    lr: float, beta1: float, beta2: float, keep_num: int, reduce: str,
                    eps: float, weight_decay: float, decoupled_weight_decay: bool) -> None:
    """One step of the formulas in the module docstring for a list of tensors (in place)."""
    if weight_decay != 0:
        if decoupled_weight_decay:
            ops.mul_(params, 1 - lr * weight_decay)
        else:
            grads = ops.add(grads, params, alpha=weight_decay)
    slot = (step - 1) % keep_num
    oldest = [window[slot] for window in windows]  # g_{t-n}
    ops.mul_(exp_avg_sqs, beta2)
    ops.add_(exp_avg_sqs, _reduce_squares(ops, oldest, reduce), alpha=1 - beta2)
    ops.copy_(oldest, grads)  # the slot of g_{t-n} now holds g_t

    ages = [(slot - j) % keep_num for j in range(keep_num)]  # age of the gradient in slot j
    weights = [beta1**age for age in ages]
    first = [window[0] for window in windows]
    exp_avgs = ops.mul(first, weights[0] / sum(weights))
    for j in range(1, keep_num):
        ops.add_(exp_avgs, [window[j] for window in windows], alpha=weights[j] / sum(weights))

    for param, m, v, k in zip(params, exp_avgs, exp_avg_sqs, active_steps):
        k.add_(((v > 0) | (k > 0)).to(k.dtype))
        bias_correction2 = (1 - torch.pow(beta2, k)).clamp_(min=1e-8)
        denom = (v / bias_correction2).sqrt_().add_(eps)
        param.sub_(torch.where(k > 0, m / denom, 0.0), alpha=lr)


class AdaShift(AdaptiveOptimizer):
    __doc__ = __doc__

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), keep_num=10, reduce="max", eps=1e-10,
                 weight_decay=0.0, decoupled_weight_decay=False, *, foreach=None):
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas,
                        keep_num=keep_num, reduce=reduce, eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults, foreach)

    def _validate_group(self, group):
        super()._validate_group(group)
        check.check_betas(group["betas"])
        check.check_positive_int("keep_num", group["keep_num"])
        check.check_choice("reduce", group["reduce"], REDUCTIONS)

    def _init_state(self, param, state, group):
        dtype = state_dtype(param)
        moment_shape = param.shape if group["reduce"] == "none" else ()
        state["window"] = param.new_zeros((group["keep_num"], *param.shape), dtype=dtype)
        state["exp_avg_sq"] = param.new_zeros(moment_shape, dtype=dtype)
        state["active_steps"] = param.new_zeros(moment_shape, dtype=dtype)

    def _update(self, group, ops, params, grads, states, step):
        beta1, beta2 = group["betas"]
        keep_num = group["keep_num"]
        for window in states["window"]:
            if window.shape[0] != keep_num:
                raise ValueError(
                    f"AdaShift state holds a window of {window.shape[0]} gradients but keep_num is "
                    f"{keep_num}; keep_num cannot change in the middle of a run"
                )
        adashift_update(
            ops, params, grads, states["window"], states["exp_avg_sq"], states["active_steps"],
            step=step, lr=group["lr"], beta1=beta1, beta2=beta2, keep_num=keep_num,
            reduce=group["reduce"], eps=group["eps"], weight_decay=group["weight_decay"],
            decoupled_weight_decay=group["decoupled_weight_decay"],
        )
