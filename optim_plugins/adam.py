r"""The Adam family: Adam, AMSGrad and AdamAL share one functional core.

With g_t the gradient (plus ``weight_decay * p`` unless the decay is decoupled), step t >= 1::

    m_t     = beta1 m_{t-1} + (1 - beta1) g_t
    v_t     = beta2 v_{t-1} + (1 - beta2) g_t^2                   "ema"      (Adam)
    v_t     = beta2 v_{t-1} + (1 - beta2) max(g_t^2, v_{t-1})     "max-ema"  (AdamAL)
    vhat_t  = max(vhat_{t-1}, v_t)   (AMSGrad)   else   vhat_t = v_t
    p_t     = p_{t-1} - lr / (1 - beta1^t) * m_t / (sqrt(vhat_t) / sqrt(1 - beta2^t) + eps)

Decoupled weight decay (AdamW) multiplies p by (1 - lr * weight_decay) before the update. The
reference path (``fused=False``) uses torch.optim.Adam's operations in its order, so Adam and
AMSGrad match ``torch.optim.Adam(foreach=...)`` bit for bit; the default fast path calls torch's
own fused Adam/AdamW kernels, which compute the same rule (equal to ``torch.optim.Adam(fused=True)``).
AdamAL has no torch kernel: its fast path is our one-pass CPU kernel (``optim_plugins._native``) on
CPU and our Triton kernel (``optim_plugins._triton``) on CUDA, equal to the reference path within
float rounding; elsewhere it takes the reference path.
"""

from __future__ import annotations

from itertools import chain

import torch

from . import _native, _triton
from . import _validation as check
from ._base import AdaptiveOptimizer, apply_weight_decay, state_dtype

SECOND_MOMENTS = ("ema", "max-ema")


def adam_family_update(
    ops, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, *, step: int,
    lr: float, beta1: float, beta2: float, eps: float, weight_decay: float,
    decoupled_weight_decay: bool, amsgrad: bool, second_moment: str = "ema",
) -> None:
    """One step of the formulas in the module docstring for a list of tensors (in place)."""
    grads = apply_weight_decay(ops, params, grads, lr=lr, weight_decay=weight_decay,
                               decoupled=decoupled_weight_decay)
    ops.lerp_(exp_avgs, grads, 1 - beta1)
    if second_moment == "ema":
        ops.mul_(exp_avg_sqs, beta2)
        ops.addcmul_(exp_avg_sqs, grads, grads, value=1 - beta2)
    else:  # "max-ema", as max(v, beta2 v + (1 - beta2) g^2): equal, and never decreasing in floats too
        candidate = ops.mul(exp_avg_sqs, beta2)
        ops.addcmul_(candidate, grads, grads, value=1 - beta2)
        ops.maximum_(exp_avg_sqs, candidate)
    if amsgrad:
        ops.maximum_(max_exp_avg_sqs, exp_avg_sqs)
        denom = ops.sqrt(max_exp_avg_sqs)
    else:
        denom = ops.sqrt(exp_avg_sqs)
    ops.div_(denom, (1 - beta2**step) ** 0.5)
    ops.add_(denom, eps)
    ops.addcdiv_(params, exp_avgs, denom, value=-(lr / (1 - beta1**step)))


def fused_adam_update(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, *, lr, beta1,
                      beta2, eps, weight_decay, decoupled_weight_decay, amsgrad) -> None:
    """torch's fused Adam (AdamW when decoupled) kernel: one pass over p, g, m, v (and vmax)."""
    kernel = torch._fused_adamw_ if decoupled_weight_decay else torch._fused_adam_
    device = params[0].device
    steps = [s if s.device == device else s.to(device) for s in steps]  # our counters live on the CPU
    kernel(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs if amsgrad else [], steps, lr=lr,
           beta1=beta1, beta2=beta2, weight_decay=weight_decay, eps=eps, amsgrad=amsgrad, maximize=False)


def native_adamal_update(params, grads, exp_avgs, exp_avg_sqs, *, step, lr, beta1, beta2, eps,
                         weight_decay, decoupled_weight_decay) -> None:
    """AdamAL's step through the one-pass CPU kernel: one call for all tensors (parallel over chunks)."""
    _native.cpu_kernels().adamal_group_step(params, grads, exp_avgs, exp_avg_sqs, lr, beta1, beta2, eps, weight_decay,
                                            decoupled_weight_decay, 1 - beta1**step, (1 - beta2**step) ** 0.5)


class _AdamFamily(AdaptiveOptimizer):
    amsgrad = False
    second_moment = "ema"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled_weight_decay=False, *, foreach=None, fused=None,
                 maximize=False, capturable=False, differentiable=False):
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas, eps=eps,
                        weight_decay=weight_decay, decoupled_weight_decay=decoupled_weight_decay)
        if self.second_moment == "ema":  # torch.optim.Adam's flag: a dict loaded there keeps (or drops) the max
            defaults["amsgrad"] = self.amsgrad
        super().__init__(params, defaults, foreach, fused, maximize, capturable, differentiable)

    def later_defaults(self) -> dict:
        return {**super().later_defaults(), **({"amsgrad": self.amsgrad} if self.second_moment == "ema" else {})}

    def _validate_group(self, group):
        super()._validate_group(group)
        check.check_betas(group["betas"])
        if self.second_moment == "ema" and group.get("amsgrad", self.amsgrad) is not self.amsgrad:
            raise ValueError(f"Invalid amsgrad: {group['amsgrad']!r} for {type(self).__name__} (it is "
                             f"{self.amsgrad} here: use {'Adam' if self.amsgrad else 'AMSGrad'} for the other rule)")

    def _init_state(self, param, state, group):
        zeros = lambda: torch.zeros_like(param, dtype=state_dtype(param),
                                         memory_format=torch.preserve_format)
        state["exp_avg"] = zeros()
        state["exp_avg_sq"] = zeros()
        if self.amsgrad:
            state["max_exp_avg_sq"] = zeros()

    def _update(self, group, ops, params, grads, states, step):
        beta1, beta2 = group["betas"]
        if group["fused"] is not False and self.second_moment == "ema":
            fused_adam_update(
                params, grads, states["exp_avg"], states["exp_avg_sq"], states.get("max_exp_avg_sq"),
                states["step"], lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                weight_decay=group["weight_decay"], amsgrad=self.amsgrad,
                decoupled_weight_decay=group["decoupled_weight_decay"])
            return
        states_lists = (states["exp_avg"], states["exp_avg_sq"])
        if group["fused"] is not False and self.second_moment == "max-ema":
            tensors = (*params, *grads, *chain(*states_lists))
            kernel = native_adamal_update if _native.usable(*tensors) else \
                _triton.adamal_update if _triton.usable(*tensors) else None
            if kernel is not None:
                kernel(params, grads, *states_lists, step=step, lr=group["lr"], beta1=beta1, beta2=beta2,
                       eps=group["eps"], weight_decay=group["weight_decay"],
                       decoupled_weight_decay=group["decoupled_weight_decay"])
                return
        adam_family_update(
            ops, params, grads, states["exp_avg"], states["exp_avg_sq"],
            states.get("max_exp_avg_sq"), step=step, lr=group["lr"], beta1=beta1, beta2=beta2,
            eps=group["eps"], weight_decay=group["weight_decay"],
            decoupled_weight_decay=group["decoupled_weight_decay"], amsgrad=self.amsgrad,
            second_moment=self.second_moment,
        )


class Adam(_AdamFamily):
    r"""Adam (Kingma & Ba), numerically equal to ``torch.optim.Adam``.

    m_t = beta1 m_{t-1} + (1-beta1) g_t;   v_t = beta2 v_{t-1} + (1-beta2) g_t^2
    p_t = p_{t-1} - lr/(1-beta1^t) * m_t / (sqrt(v_t)/sqrt(1-beta2^t) + eps)

    ``decoupled_weight_decay=True`` gives AdamW (equal to ``torch.optim.AdamW``).
    """


class AMSGrad(_AdamFamily):
    r"""AMSGrad (Reddi et al.), with torch's convention: equal to ``torch.optim.Adam(amsgrad=True)``.

    Adam's m_t and v_t, then vhat_t = max(vhat_{t-1}, v_t) over the *raw* (uncorrected) v, and
    p_t = p_{t-1} - lr/(1-beta1^t) * m_t / (sqrt(vhat_t)/sqrt(1-beta2^t) + eps).

    optax differs: it takes the max of the bias-corrected value v_t / (1-beta2^t). The authors'
    TensorFlow release (optimizer_all.py) is torch-like. State keys match torch's, so a
    ``torch.optim.Adam(amsgrad=True)`` state dict loads here.
    """

    amsgrad = True
