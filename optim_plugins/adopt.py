r"""ADOPT (Taniguchi et al., NeurIPS 2024, 'ADOPT: Modified Adam Can Converge with Any beta2 with
the Optimal Rate'), clipped version, as the authors' implementation (iShohei220/adopt).

The second moment that normalises g_t excludes g_t (AdaShift with n = 1), and momentum is taken
after the normalisation. With g_t the gradient (plus ``weight_decay * p`` unless decoupled) at
call t >= 1 and s = t - 1 the number of updates so far::

    t = 1:   v_1   = g_1^2                        nothing moves (m stays 0)
    t >= 2:  ghat  = clip(g_t / max(sqrt(v_{t-1}), eps), -s^c, s^c)      c = clip_exponent
             m_t   = beta1 m_{t-1} + (1 - beta1) ghat                     no bias correction
             p_t   = p_{t-1} - lr m_t
             v_t   = beta2 v_{t-1} + (1 - beta2) g_t^2                    after its use

``clip_exponent=None`` switches the clipping off. The official code takes a callable
``clip_lambda`` (default ``step ** 0.25``); a float exponent keeps the state dict loadable with
``weights_only=True``. The threshold s^c is computed in double and applied in the parameter's
precision (torch rounds the scalar to a float32 tensor's dtype). Decoupled weight decay
multiplies p by (1 - lr * weight_decay) from the first update (t = 2) on; coupled decay enters
g_t at every call, the first included.

Paths: the reference (``fused=False``: multi-tensor or per-tensor ops, below), and the default fast
path, a one-pass CPU kernel (``optim_plugins._native``) on CPU and a Triton kernel
(``optim_plugins._triton``) on CUDA, equal to it within float rounding; elsewhere, or where the
kernels cannot be built, the multi-tensor path.
"""

from __future__ import annotations

import math
from itertools import chain

from . import _native, _triton
from . import _validation as check
from ._base import AdaptiveOptimizer, apply_weight_decay, state_dtype


def adopt_update(ops, params, grads, exp_avgs, exp_avg_sqs, *, step: int, lr: float, beta1: float,
                 beta2: float, eps: float, weight_decay: float, decoupled_weight_decay: bool,
                 clip_exponent: float | None) -> None:
    """One step of the formulas in the module docstring for a list of tensors (in place)."""
    grads = apply_weight_decay(ops, params, grads, lr=lr, weight_decay=weight_decay,
                               decoupled=decoupled_weight_decay, shrink=step > 1)  # p moves from t = 2 on
    if step == 1:
        ops.addcmul_(exp_avg_sqs, grads, grads)
        return
    denom = ops.sqrt(exp_avg_sqs)
    ops.clamp_min_(denom, eps)
    normalised = ops.div(grads, denom)
    if clip_exponent is not None:
        bound = (step - 1) ** clip_exponent
        ops.clamp_min_(normalised, -bound)
        ops.clamp_max_(normalised, bound)
    ops.lerp_(exp_avgs, normalised, 1 - beta1)
    ops.add_(params, exp_avgs, alpha=-lr)
    ops.mul_(exp_avg_sqs, beta2)
    ops.addcmul_(exp_avg_sqs, grads, grads, value=1 - beta2)


def native_adopt_update(params, grads, exp_avgs, exp_avg_sqs, *, step, lr, beta1, beta2, eps, weight_decay,
                        decoupled_weight_decay, clip_exponent) -> None:
    """The same step through the one-pass CPU kernel: one call for all tensors (parallel over chunks)."""
    bound = math.inf if clip_exponent is None or step == 1 else (step - 1) ** clip_exponent
    _native.cpu_kernels().adopt_group_step(params, grads, exp_avgs, exp_avg_sqs, lr, beta1, beta2, eps, weight_decay,
                                           decoupled_weight_decay, step == 1, bound)


class ADOPT(AdaptiveOptimizer):
    __doc__ = __doc__

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.9999), eps=1e-6, weight_decay=0.0,
                 decoupled_weight_decay=False, clip_exponent=0.25, *, foreach=None, fused=None,
                 maximize=False, capturable=False, differentiable=False):
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas, eps=eps,
                        weight_decay=weight_decay, decoupled_weight_decay=decoupled_weight_decay,
                        clip_exponent=clip_exponent)
        super().__init__(params, defaults, foreach, fused, maximize, capturable, differentiable)

    def _validate_group(self, group):
        super()._validate_group(group)
        check.check_betas(group["betas"])
        if group["clip_exponent"] is not None:
            check.check_non_negative("clip_exponent", group["clip_exponent"])

    def _init_state(self, param, state, group):
        dtype = state_dtype(param)
        state["exp_avg"] = param.new_zeros(param.shape, dtype=dtype)
        state["exp_avg_sq"] = param.new_zeros(param.shape, dtype=dtype)

    def _update(self, group, ops, params, grads, states, step):
        beta1, beta2 = group["betas"]
        hyper = dict(step=step, lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                     weight_decay=group["weight_decay"], decoupled_weight_decay=group["decoupled_weight_decay"],
                     clip_exponent=group["clip_exponent"])
        moments = (states["exp_avg"], states["exp_avg_sq"])
        tensors = (*params, *grads, *chain(*moments))
        if group["fused"] is not False and _native.usable(*tensors):
            native_adopt_update(params, grads, *moments, **hyper)
        elif group["fused"] is not False and _triton.usable(*tensors):
            _triton.adopt_update(params, grads, *moments, **hyper)
        else:
            adopt_update(ops, params, grads, *moments, **hyper)
