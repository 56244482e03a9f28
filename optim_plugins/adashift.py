r"""AdaShift (Zhou et al., ICLR 2019), as in the authors' TensorFlow release (``optimizer_all.py``).

The second moment is built from the gradient n = keep_num steps old, which is independent of
the current gradient g_t; the first moment is a beta1-weighted average of the n newest gradients.
At step t >= 1 (g_s = 0 for s <= 0, i.e. the window starts zero-filled)::

    v_t     = beta2 v_{t-1} + (1 - beta2) phi(g_{t-n}^2)    phi: identity ("none"), or the max or
                                                             mean over the whole tensor ("max",
                                                             "mean": one v per parameter tensor)
    m_t     = sum_{i<n} beta1^i g_{t-i} / sum_{i<n} beta1^i  (no bias correction)
    z_t     = z_{t-1} or (v_t != 0)                          per element of v (v >= 0: v_t > 0)
    k_t     = number of steps so far with z on               (bias correction counts from there)
    p_t     = p_{t-1} - lr * z_t * m_t / (sqrt(v_t / max(1e-8, 1 - beta2^k_t)) + eps)

So nothing moves in the first n steps, and an element whose v is still zero (for example an
embedding row whose token has not been seen n steps ago) does not move at all instead of being
divided by eps. Weight decay: coupled adds ``weight_decay * p`` to g_t before it enters the
window; decoupled multiplies p by (1 - lr * weight_decay) every step.

Non-finite gradients behave as in ``torch.optim.Adam``, on every path: they reach the parameters,
visibly. The gate is computed as v_t != 0, which equals v_t > 0 for every finite v (v >= 0), so
a NaN that reaches v opens the gate and turns the parameter NaN instead of closing its gate for
good, silently (NaN > 0 is false). A NaN or inf in g_t makes the parameter NaN/inf at once where
the gate is open, else at most n steps later. Skipping such steps belongs to the training loop
(``torch.amp.GradScaler``, fairseq's overflow check, the GAN trainer's divergence stop): a
finite-check here would cost one more read of every gradient per step (measured: +25% of a fused
Adam step at 26M parameters on the CPU).

State per parameter: ``window`` (n slots, a ring buffer: g_t is written into the slot that held
g_{t-n}, slot (t-1) mod n; ``window_dtype=torch.bfloat16`` halves its memory), ``window_sum``
(the running sum_{i<n} beta1^i g_{t-i}), ``window_phi`` (phi of each slot, "max"/"mean" only),
``exp_avg_sq`` (v; shape () for "max"/"mean"), ``active_since`` (the step at which z turned
on, 0 before; same shape as v; k_t = t - active_since + 1) and ``step``. All are tensors, so
``load_state_dict`` restores a run in the middle of its window exactly.

Lean layout: with beta1 = 0 and reduce "max"/"mean" (the authors' NMT and WGAN settings) m_t is
g_t itself and v needs only phi(g_{t-n}^2), one number per tensor per slot, so the state holds no
window of gradients and no running sum: ``window_phi`` (n scalars), ``exp_avg_sq`` and
``active_since`` (scalars) and ``step``, a few bytes per tensor instead of 4(n + 1) per parameter
(164 at keep_num 40). The update is the same rule, equal bit for bit to the windowed layout with a
float32 window (``window_dtype`` has nothing to store there). beta1 cannot change between 0 and
nonzero in the middle of such a run (the layouts differ; refused with a message).

Paths: the default fast path (``fused=None``) takes m from the running sum, O(1) per step for
any keep_num, each gradient reduced once when it enters the window. On CPU it is one pass of a
compiled kernel per tensor (``optim_plugins._native``). It moves as many bytes as Adam for
"max"/"mean" (S replaces m, v is one scalar), 8 more per element for "none" (the slot leaving
the window and the one entering), plus reading active_since while the gates of a tensor opened
at different steps. Where the kernel is unavailable the same O(1) rule runs as multi-tensor ops. ``fused=False`` recomputes m from all
n slots (the reference). They agree within float rounding; the running sum is recomputed from
the window every ``reanchor_every`` steps so the drift stays bounded.
"""

from __future__ import annotations

import functools
import math
import weakref

import torch

from . import _native
from . import _validation as check
from ._base import AdaptiveOptimizer, state_dtype

REDUCTIONS = ("none", "max", "mean")
WINDOW_DTYPES = (None, torch.float32, torch.float64, torch.bfloat16, torch.float16)


def _reduce_squares(ops, gradients, reduce: str):
    """phi(g^2): elementwise, or the max / mean of g^2 over each whole tensor."""
    if reduce == "none":
        return ops.mul(gradients, gradients)
    norms = ops.norm(gradients, float("inf") if reduce == "max" else 2)
    squares = ops.mul(norms, norms)  # (max|g|)^2 == max(g^2); ||g||^2 / numel == mean(g^2)
    if reduce == "mean":
        squares = ops.div(squares, [float(g.numel()) for g in gradients])
    return squares


def _weights_by_slot(beta1: float, keep_num: int, newest_slot: int) -> list[float]:
    """beta1^age of the gradient held in each slot, the newest being age 0."""
    return [beta1 ** ((newest_slot - j) % keep_num) for j in range(keep_num)]


def exact_window_sums(windows, beta1: float, keep_num: int, newest_slot: int, dtype) -> list:
    """sum_{i<n} beta1^i g_{t-i} recomputed from the stored slots (n reads per element)."""
    weights = torch.tensor(_weights_by_slot(beta1, keep_num, newest_slot), dtype=dtype)
    return [torch.tensordot(weights.to(w.device), w.to(dtype), dims=1) for w in windows]


def advance_window(ops, grads, windows, window_sums, window_phis, *, slot, beta1, keep_num, reduce, dtype):
    """Move the window one step: g_t replaces g_{t-n} in ``slot``; returns phi(g_{t-n}^2).

    Keeps the running sum S_t = beta1 S_{t-1} + g_t - beta1^n g_{t-n} (= sum_{i<n} beta1^i g_{t-i})
    and, for reduce max/mean, phi of each slot's square, taken once when the gradient enters.
    With a reduced-precision window, S adds the stored (rounded) g_t, so S is the sum of what the
    window holds.
    """
    oldest = [window[slot] for window in windows]
    oldest_values = [o.to(dtype) for o in oldest]  # the slot itself when the dtypes match
    if reduce == "none":
        phi = ops.mul(oldest_values, oldest_values)
    else:
        phi = [p[slot].clone() for p in window_phis]
    ops.mul_(window_sums, beta1)
    if beta1 != 0:  # drop beta1^n g_{t-n} before its slot is overwritten
        ops.add_(window_sums, oldest_values, alpha=-(beta1**keep_num))
    ops.copy_(oldest, grads)  # the slot of g_{t-n} now holds g_t
    stored = [o.to(dtype) for o in oldest]
    ops.add_(window_sums, stored)
    if reduce != "none":
        entering = _reduce_squares(ops, stored, reduce)
        for phis, value in zip(window_phis, entering):
            phis[slot] = value
    return phi


def active_steps(active_since: torch.Tensor, step: int) -> torch.Tensor:
    """k_t: the number of steps with z on, from the step z turned on (0 while off)."""
    return torch.where(active_since > 0, step - active_since + 1, 0)


def bias_corrections2(beta2: float, active: torch.Tensor) -> torch.Tensor:
    """max(1e-8, 1 - beta2^k): v's bias correction counted from the step z turned on."""
    return (1 - torch.pow(beta2, active)).clamp_(min=1e-8)


def _apply(params, exp_avgs, exp_avg_sqs, active_since, *, step, lr, beta2, eps):
    """z and k, the bias correction of v from the step z turned on, and the gated step."""
    for param, m, v, since in zip(params, exp_avgs, exp_avg_sqs, active_since):
        since.masked_fill_((since == 0) & (v != 0), step)  # != 0: a NaN v opens the gate (visible)
        denom = (v / bias_corrections2(beta2, active_steps(since, step))).sqrt_().add_(eps)
        param.sub_(torch.where(since > 0, m / denom, 0.0), alpha=lr)


TABLE_CAP = 1 << 24  # longest table of bias corrections the CPU kernel uses (64 MiB in float32)


def _bias_correction_table(beta2: float, dtype: torch.dtype, step: int) -> torch.Tensor | None:
    """1 / sqrt(bias_corrections2(beta2, k)) for k = 0 .. K, K >= step or where 1 - beta2^K rounds
    to 1: the kernel divides sqrt(v) by sqrt(bc2) with one multiplication.

    None when that would exceed TABLE_CAP (beta2 > ~0.999998 after 2^24 steps): the caller then
    takes the multi-tensor path. Lengths grow in powers of two, so a run builds few tables.
    """
    saturated = 1 if beta2 == 0 else math.ceil(60 * math.log(2) / -math.log(beta2))
    last = min(saturated, 1 << max(10, step.bit_length()))
    return None if last > TABLE_CAP else _table(beta2, dtype, last)


@functools.lru_cache(maxsize=16)
def _table(beta2: float, dtype: torch.dtype, last: int) -> torch.Tensor:
    return bias_corrections2(beta2, torch.arange(last + 1, dtype=dtype)).rsqrt_()


_ACTIVATING, _ACTIVE, _UNIFORM = 0, 1, 2  # the kernel's modes (see cpu_kernels.cpp)
# ``hints`` (one dict per optimizer): active_since tensor -> (first, last activation step) once every
# element is on, after which active_since never changes. A hint only: cleared on load_state_dict and
# re-verified at each re-anchoring step, so the kernel's general mode recomputes it. Keyed by id()
# with a weak reference checked on use (tensors compare elementwise, so they cannot be dict keys).


def _activation_mode(since: torch.Tensor, step: int, table: torch.Tensor, recheck: bool, hints: dict):
    """Which kernel loop can run: the general one, one that only reads active_since, or neither."""
    known = None if recheck else hints.get(id(since))
    if known is None or known[0]() is not since:
        return _ACTIVATING, 0.0
    _, first_on, last_on = known
    if first_on == last_on:  # all turned on at the same step: one bias correction for the tensor
        return _UNIFORM, table[min(step - int(first_on) + 1, len(table) - 1)].item()
    return _ACTIVE, 0.0


def _native_update(params, grads, windows, exp_avg_sqs, active_since, window_sums, window_phis, *,
                   step, lr, beta1, beta2, keep_num, reduce, eps, weight_decay, decoupled_weight_decay,
                   recheck, table, hints):
    """The fast path's step through the one-pass CPU kernels (same formulas, one tensor per call).

    Coupled weight decay is added to g here (one extra pass, only when it is used), so the kernels
    never read p into the gradient."""
    kernels = _native.cpu_kernels()
    if weight_decay != 0 and not decoupled_weight_decay:
        grads, weight_decay = torch._foreach_add(grads, params, alpha=weight_decay), 0.0
    slot = (step - 1) % keep_num
    weights = _weights_by_slot(beta1, keep_num, slot)
    inverse_normaliser, beta1_n = 1 / sum(weights), beta1**keep_num
    if reduce == "none":
        for p, g, window, s, v, since in zip(params, grads, windows, window_sums, exp_avg_sqs,
                                             active_since):
            mode, uniform_rsqrt_bc2 = _activation_mode(since, step, table, recheck, hints)
            still_off, first_on, last_on = kernels.adashift_elementwise_step(
                p, g, window, slot, s, v, since, table, step, lr, beta1, beta1_n, beta2, eps, weight_decay,
                decoupled_weight_decay, inverse_normaliser, mode, uniform_rsqrt_bc2)
            if mode == _ACTIVATING:
                if still_off == 0:
                    hints[id(since)] = (weakref.ref(since), first_on, last_on)
                else:
                    hints.pop(id(since), None)
        return
    for p, g, window, s, phis, v, since in zip(params, grads, windows, window_sums, window_phis,
                                               exp_avg_sqs, active_since):  # one v per tensor
        kernels.adashift_reduced_step(p, g, window, slot, s, phis, v, since, step, lr, beta1, beta1_n, beta2,
                                      eps, weight_decay, decoupled_weight_decay, inverse_normaliser,
                                      reduce == "max")


def lean_layout(group: dict) -> bool:
    """beta1 = 0 with one v per tensor: the state keeps phi of each slot only (module docstring)."""
    return group["betas"][0] == 0 and group["reduce"] != "none"


def adashift_lean_update(ops, params, grads, window_phis, exp_avg_sqs, active_since, *, step: int, lr: float,
                         beta2: float, keep_num: int, reduce: str, eps: float, weight_decay: float,
                         decoupled_weight_decay: bool, fast: bool) -> None:
    """The step of the lean layout: m_t = g_t, v from phi(g_{t-n}^2) kept per slot (in place).

    ``fast`` on CPU tensors: the one-pass kernel (reduces g_t^2 and updates p in the same pass)."""
    if weight_decay != 0 and not decoupled_weight_decay:
        grads = ops.add(grads, params, alpha=weight_decay)
    slot = (step - 1) % keep_num
    if fast and _native.usable(*params, *grads, *window_phis, *exp_avg_sqs, *active_since):
        kernels = _native.cpu_kernels()
        for p, g, phis, v, since in zip(params, grads, window_phis, exp_avg_sqs, active_since):
            kernels.adashift_lean_step(p, g, slot, phis, v, since, step, lr, beta2, eps,
                                       weight_decay if decoupled_weight_decay else 0.0, reduce == "max")
        return
    if weight_decay != 0 and decoupled_weight_decay:
        ops.mul_(params, 1 - lr * weight_decay)
    phi = [phis[slot].clone() for phis in window_phis]  # phi(g_{t-n}^2)
    for phis, value in zip(window_phis, _reduce_squares(ops, grads, reduce)):
        phis[slot] = value
    ops.mul_(exp_avg_sqs, beta2)
    ops.add_(exp_avg_sqs, phi, alpha=1 - beta2)
    _apply(params, grads, exp_avg_sqs, active_since, step=step, lr=lr, beta2=beta2, eps=eps)


def adashift_update(ops, params, grads, windows, exp_avg_sqs, active_since, window_sums, window_phis, *,
                    step: int, lr: float, beta1: float, beta2: float, keep_num: int, reduce: str,
                    eps: float, weight_decay: float, decoupled_weight_decay: bool, fast: bool,
                    reanchor_every: int = 100, hints: dict | None = None) -> None:
    """One step of the formulas in the module docstring for a list of tensors (in place).

    ``fast=False`` (reference): m is recomputed from all n stored gradients. ``fast=True``: m is
    the running sum S_t / sum_i beta1^i, O(1) per step whatever keep_num; S is recomputed from the
    window every ``reanchor_every`` steps, which bounds its float rounding drift. ``fast=True`` on
    CPU tensors runs the compiled kernels when they are available; ``hints`` is the caller's dict of
    which tensors have every gate open (see ``_activation_mode``; None: no hints kept).
    """
    kwargs = dict(step=step, lr=lr, beta1=beta1, beta2=beta2, keep_num=keep_num, reduce=reduce, eps=eps,
                  weight_decay=weight_decay, decoupled_weight_decay=decoupled_weight_decay)
    state = (windows, exp_avg_sqs, active_since, window_sums, window_phis)
    dtype = exp_avg_sqs[0].dtype
    if step % reanchor_every == 0:  # before the move: the window holds g_{t-1} .. g_{t-n}
        newest_slot = (step - 2) % keep_num
        torch._foreach_copy_(window_sums, exact_window_sums(windows, beta1, keep_num, newest_slot, dtype))
    table = _bias_correction_table(beta2, dtype, step) if fast and reduce == "none" else None
    if fast and (reduce != "none" or table is not None) and _native.usable(
            *params, *grads, *windows, *window_sums, *exp_avg_sqs, *active_since, *(window_phis or [])):
        _native_update(params, grads, *state, recheck=step % reanchor_every == 0, table=table,
                       hints={} if hints is None else hints, **kwargs)
        return
    if weight_decay != 0:
        if decoupled_weight_decay:
            ops.mul_(params, 1 - lr * weight_decay)
        else:
            grads = ops.add(grads, params, alpha=weight_decay)
    slot = (step - 1) % keep_num
    phi = advance_window(ops, grads, windows, window_sums, window_phis, slot=slot, beta1=beta1,
                         keep_num=keep_num, reduce=reduce, dtype=dtype)
    ops.mul_(exp_avg_sqs, beta2)
    ops.add_(exp_avg_sqs, phi, alpha=1 - beta2)
    weights = _weights_by_slot(beta1, keep_num, slot)
    normaliser = sum(weights)
    if fast:
        exp_avgs = ops.div(window_sums, normaliser)
    else:
        exp_avgs = ops.mul([window[0].to(dtype) for window in windows], weights[0] / normaliser)
        for j in range(1, keep_num):
            ops.add_(exp_avgs, [window[j].to(dtype) for window in windows], alpha=weights[j] / normaliser)
    _apply(params, exp_avgs, exp_avg_sqs, active_since, step=step, lr=lr, beta2=beta2, eps=eps)


class AdaShift(AdaptiveOptimizer):
    __doc__ = __doc__

    reanchor_every = 100  # steps between exact recomputations of the running window sum

    state_shaping = ("keep_num", "reduce", "betas")
    state_variants = ({"reduce": "none"}, {"reduce": "max"}, {"reduce": "max", "betas": (0.0, 0.999)})

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), keep_num=10, reduce="max", eps=1e-10,
                 weight_decay=0.0, decoupled_weight_decay=False, *, window_dtype=None, foreach=None,
                 fused=None):
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas,
                        keep_num=keep_num, reduce=reduce, eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay, window_dtype=window_dtype)
        self._activation_hints: dict = {}  # which active_since tensors are all on (see _activation_mode)
        super().__init__(params, defaults, foreach, fused)

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        self._activation_hints.clear()  # new state tensors: every hint is recomputed

    def _validate_group(self, group):
        super()._validate_group(group)
        check.check_betas(group["betas"])
        check.check_positive_int("keep_num", group["keep_num"])
        check.check_choice("reduce", group["reduce"], REDUCTIONS)
        if group["window_dtype"] not in WINDOW_DTYPES:
            raise ValueError(f"Invalid window_dtype: {group['window_dtype']!r} (expected None or a floating dtype)")

    def _check_state_values(self, state, group, step, problem):
        since = state["active_since"]
        if not bool(((since >= 0) & (since <= step) & (since == since.round())).all()):
            raise ValueError(f"{problem}: active_since holds values outside the whole numbers "
                             f"0 .. step = {step} (a corrupt state dict)")

    def _init_state(self, param, state, group):
        dtype = state_dtype(param)
        moment_shape = param.shape if group["reduce"] == "none" else ()
        if not lean_layout(group):
            window_dtype = group["window_dtype"] or dtype
            state["window"] = param.new_zeros((group["keep_num"], *param.shape), dtype=window_dtype)
            state["window_sum"] = param.new_zeros(param.shape, dtype=dtype)
        if group["reduce"] != "none":
            state["window_phi"] = param.new_zeros((group["keep_num"],), dtype=dtype)
        state["exp_avg_sq"] = param.new_zeros(moment_shape, dtype=dtype)
        state["active_since"] = param.new_zeros(moment_shape, dtype=dtype)

    def _update(self, group, ops, params, grads, states, step):
        beta1, beta2 = group["betas"]
        keep_num, lean = group["keep_num"], lean_layout(group)
        if lean != ("window" not in states):
            raise ValueError(
                f"AdaShift state was made with beta1 {'0' if 'window' not in states else '> 0'} (the "
                f"{'lean' if 'window' not in states else 'windowed'} layout) but beta1 is {beta1}; with reduce "
                f"max/mean, beta1 cannot change between 0 and nonzero in the middle of a run")
        phis_list = states.get("window_phi") or [None] * len(params)
        for i, (v, phis) in enumerate(zip(states["exp_avg_sq"], phis_list)):
            if (v.dim() == 0) != (group["reduce"] != "none") or (phis is None) != (v.dim() != 0):
                raise ValueError(
                    f"AdaShift state was made with reduce {'none' if v.dim() else 'max/mean'} but reduce is "
                    f"{group['reduce']!r}; reduce cannot change in the middle of a run")
            slots = phis.shape[0] if lean else states["window"][i].shape[0]
            if slots != keep_num:
                raise ValueError(
                    f"AdaShift state holds a window of {slots} gradients but keep_num is "
                    f"{keep_num}; keep_num cannot change in the middle of a run"
                )
        hyper = dict(step=step, lr=group["lr"], beta2=beta2, keep_num=keep_num, reduce=group["reduce"],
                     eps=group["eps"], weight_decay=group["weight_decay"],
                     decoupled_weight_decay=group["decoupled_weight_decay"], fast=group["fused"] is not False)
        if lean:
            adashift_lean_update(ops, params, grads, states["window_phi"], states["exp_avg_sq"],
                                 states["active_since"], **hyper)
            return
        adashift_update(
            ops, params, grads, states["window"], states["exp_avg_sq"], states["active_since"],
            states["window_sum"], states.get("window_phi"), beta1=beta1, reanchor_every=self.reanchor_every,
            hints=self._activation_hints, **hyper)
