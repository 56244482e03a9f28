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

Lean layouts: with beta1 = 0, m_t is g_t itself, so the state keeps no running sum. With reduce
"max"/"mean" (the authors' NMT and WGAN settings) v needs only phi(g_{t-n}^2), one number per tensor
per slot, so the state holds no window of gradients either: ``window_phi`` (n scalars),
``exp_avg_sq`` and ``active_since`` (scalars) and ``step``, a few bytes per tensor instead of
4(n + 1) per parameter (164 at keep_num 40); ``window_dtype`` has nothing to store there. With
reduce "none" the window of gradients stays (g_{t-n} is needed elementwise) and only the running
sum goes: 4 bytes per parameter less, and 8 fewer bytes moved per element and step. The update is
the same rule, equal bit for bit to the windowed layout with a float32 window (with a bf16 window
the lean m_t is the gradient itself, not its rounded copy in the window). beta1 cannot change
between 0 and nonzero in the middle of such a run (the layouts differ; refused with a message).

Paths: every version of the step is a function of the same signature, ``(ops, params, grads,
state: AdaShiftState, hp: AdaShiftHyper, step)``, and :func:`choose_update` is the one place that
picks one. ``fused=False``: :func:`reference_update` recomputes m from all n slots (the formula as
written). The default fast path (``fused=None``): :func:`running_sum_update` takes m from the
running sum, O(1) per step for any keep_num, each gradient reduced once when it enters the window.
On CPU the same rule is one call of a compiled one-pass kernel over all tensors (:func:`kernel_update`,
``optim_plugins._native``); on CUDA one Triton launch covers all tensors of a batch
(``optim_plugins._triton``). The kernels move as many bytes as Adam for "max"/"mean" (S replaces
m, v is one scalar), 8 more per element for "none" (the slot leaving the window and the one
entering; with beta1 = 0 no S, so as many as Adam). The lean layouts have :func:`lean_update` and
the same kernels. They agree within float rounding; the running sum is recomputed from the window
every ``reanchor_every`` steps so the drift stays bounded.
"""

from __future__ import annotations

import functools
import math
import weakref
from typing import NamedTuple

import torch

from . import _native, _triton
from . import _validation as check
from ._base import AdaptiveOptimizer, apply_weight_decay, state_dtype

REDUCTIONS = ("none", "max", "mean")
WINDOW_DTYPES = (None, torch.float32, torch.float64, torch.bfloat16, torch.float16)


class AdaShiftState(NamedTuple):
    """The state of a batch of parameters, one list per field (a tensor per parameter)."""

    exp_avg_sq: list  # v: shaped as the parameter ("none") or one number per tensor ("max"/"mean")
    active_since: list  # the step at which z turned on, 0 before; shaped as v
    window_phi: list | None = None  # phi(g^2) of each of the n slots ("max"/"mean")
    window: list | None = None  # the n newest gradients, a ring (None in the lean max/mean layout)
    window_sum: list | None = None  # S_t = sum_{i<n} beta1^i g_{t-i} (None when beta1 = 0: m_t = g_t)

    @classmethod
    def of(cls, states: dict) -> AdaShiftState:
        return cls(*(states.get(name) for name in cls._fields))


class AdaShiftHyper(NamedTuple):
    lr: float
    beta1: float
    beta2: float
    keep_num: int
    reduce: str
    eps: float
    weight_decay: float = 0.0
    decoupled_weight_decay: bool = False


def lean_layout(group: dict) -> bool:
    """beta1 = 0: m_t = g_t, no running sum; with one v per tensor no window either, only phi of
    each slot (module docstring, 'Lean layouts')."""
    return group["betas"][0] == 0


# -- the rule, as written ---------------------------------------------------------------------------
def reference_update(ops, params, grads, state: AdaShiftState, hp: AdaShiftHyper, step: int) -> None:
    """One step of the module docstring's formulas, m recomputed from all n slots (in place)."""
    grads = _decay(ops, params, grads, hp)
    slot = (step - 1) % hp.keep_num
    phi = advance_window(ops, grads, state, hp, slot)  # phi(g_{t-n}^2); the window now holds g_t
    _second_moment(ops, state.exp_avg_sq, phi, hp.beta2)
    weights = _weights_by_slot(hp.beta1, hp.keep_num, slot)
    normaliser, dtype = sum(weights), state.exp_avg_sq[0].dtype
    exp_avgs = ops.mul([window[0].to(dtype) for window in state.window], weights[0] / normaliser)
    for j in range(1, hp.keep_num):
        ops.add_(exp_avgs, [window[j].to(dtype) for window in state.window], alpha=weights[j] / normaliser)
    _gated_step(params, exp_avgs, state, hp, step)


def running_sum_update(ops, params, grads, state: AdaShiftState, hp: AdaShiftHyper, step: int) -> None:
    """The same step, O(1) in keep_num: m_t = S_t / sum_{i<n} beta1^i (the multi-tensor fast path)."""
    grads = _decay(ops, params, grads, hp)
    slot = (step - 1) % hp.keep_num
    phi = advance_window(ops, grads, state, hp, slot)
    _second_moment(ops, state.exp_avg_sq, phi, hp.beta2)
    exp_avgs = ops.div(state.window_sum, sum(_weights_by_slot(hp.beta1, hp.keep_num, slot)))
    _gated_step(params, exp_avgs, state, hp, step)


def lean_update(ops, params, grads, state: AdaShiftState, hp: AdaShiftHyper, step: int) -> None:
    """The lean layouts' step (beta1 = 0): m_t = g_t; phi kept per slot (max/mean) or the window
    of gradients moved without a running sum ("none")."""
    grads = _decay(ops, params, grads, hp)
    slot = (step - 1) % hp.keep_num
    if state.window is None:
        phi = [phis[slot].clone() for phis in state.window_phi]  # phi(g_{t-n}^2)
        for phis, value in zip(state.window_phi, _reduce_squares(ops, grads, hp.reduce)):
            phis[slot] = value
    else:
        phi = advance_window(ops, grads, state, hp, slot)
    _second_moment(ops, state.exp_avg_sq, phi, hp.beta2)
    _gated_step(params, grads, state, hp, step)


def _decay(ops, params, grads, hp: AdaShiftHyper):
    return apply_weight_decay(ops, params, grads, lr=hp.lr, weight_decay=hp.weight_decay,
                              decoupled=hp.decoupled_weight_decay)


def _second_moment(ops, exp_avg_sqs, phi, beta2: float) -> None:
    """v_t = beta2 v_{t-1} + (1 - beta2) phi(g_{t-n}^2)."""
    ops.mul_(exp_avg_sqs, beta2)
    ops.add_(exp_avg_sqs, phi, alpha=1 - beta2)


def _gated_step(params, exp_avgs, state: AdaShiftState, hp: AdaShiftHyper, step: int) -> None:
    """z and k, the bias correction of v from the step z turned on, and the gated step."""
    for param, m, v, since in zip(params, exp_avgs, state.exp_avg_sq, state.active_since):
        since.masked_fill_((since == 0) & (v != 0), step)  # != 0: a NaN v opens the gate (visible)
        denom = (v / bias_corrections2(hp.beta2, active_steps(since, step))).sqrt_().add_(hp.eps)
        param.sub_(torch.where(since > 0, m / denom, 0.0), alpha=hp.lr)


def _reduce_squares(ops, gradients, reduce: str):
    """phi(g^2): elementwise, or the max / mean of g^2 over each whole tensor."""
    if reduce == "none":
        return ops.mul(gradients, gradients)
    order = float("inf") if reduce == "max" else 2
    if any(g.numel() == 0 for g in gradients):  # no max over nothing (torch refuses it): phi is 0 there
        norms = [torch.linalg.vector_norm(g, order) if g.numel() else g.new_zeros(()) for g in gradients]
    else:
        norms = ops.norm(gradients, order)
    squares = ops.mul(norms, norms)  # (max|g|)^2 == max(g^2); ||g||^2 / numel == mean(g^2)
    if reduce == "mean":
        squares = ops.div(squares, [float(max(g.numel(), 1)) for g in gradients])
    return squares


def _weights_by_slot(beta1: float, keep_num: int, newest_slot: int) -> list[float]:
    """beta1^age of the gradient held in each slot, the newest being age 0."""
    return [beta1 ** ((newest_slot - j) % keep_num) for j in range(keep_num)]


def exact_window_sums(windows, beta1: float, keep_num: int, newest_slot: int, dtype) -> list:
    """sum_{i<n} beta1^i g_{t-i} recomputed from the stored slots (n reads per element)."""
    weights = torch.tensor(_weights_by_slot(beta1, keep_num, newest_slot), dtype=dtype)
    return [torch.tensordot(weights.to(w.device), w.to(dtype), dims=1) for w in windows]


def advance_window(ops, grads, state: AdaShiftState, hp: AdaShiftHyper, slot: int):
    """Move the window one step: g_t replaces g_{t-n} in ``slot``; returns phi(g_{t-n}^2).

    Keeps the running sum S_t = beta1 S_{t-1} + g_t - beta1^n g_{t-n} (= sum_{i<n} beta1^i g_{t-i};
    none in a lean layout) and, for reduce max/mean, phi of each slot's square, taken once when the
    gradient enters. With a reduced-precision window, S adds the stored (rounded) g_t, so S is the
    sum of what the window holds.
    """
    dtype = state.exp_avg_sq[0].dtype
    oldest = [window[slot] for window in state.window]
    oldest_values = [o.to(dtype) for o in oldest]  # the slot itself when the dtypes match
    if hp.reduce == "none":
        phi = ops.mul(oldest_values, oldest_values)
    else:
        phi = [p[slot].clone() for p in state.window_phi]
    if state.window_sum is not None:
        ops.mul_(state.window_sum, hp.beta1)
        if hp.beta1 != 0:  # drop beta1^n g_{t-n} before its slot is overwritten
            ops.add_(state.window_sum, oldest_values, alpha=-(hp.beta1**hp.keep_num))
    ops.copy_(oldest, grads)  # the slot of g_{t-n} now holds g_t
    stored = [o.to(dtype) for o in oldest]
    if state.window_sum is not None:
        ops.add_(state.window_sum, stored)
    if hp.reduce != "none":
        for phis, value in zip(state.window_phi, _reduce_squares(ops, stored, hp.reduce)):
            phis[slot] = value
    return phi


def active_steps(active_since: torch.Tensor, step: int) -> torch.Tensor:
    """k_t: the number of steps with z on, from the step z turned on (0 while off)."""
    return torch.where(active_since > 0, step - active_since + 1, 0)


def bias_corrections2(beta2: float, active: torch.Tensor) -> torch.Tensor:
    """max(1e-8, 1 - beta2^k): v's bias correction counted from the step z turned on."""
    return (1 - torch.pow(beta2, active)).clamp_(min=1e-8)


# -- the one-pass CPU kernels -----------------------------------------------------------------------
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


# The kernel's loops (``MODE_ACTIVATING``, ``MODE_ACTIVE``, ``MODE_UNIFORM``, defined in cpu_kernels.cpp):
# the general one, one that only reads active_since, one with a single bias correction per tensor.
# ``hints`` (one dict per optimizer): active_since tensor -> (first, last activation step, the indices
# of the elements still off, empty for none) once at most OFF_LIST_FRACTION of its elements are off; from
# then on active_since only changes at those elements, which the kernel finishes after the fast loop
# (a gradient that stays exactly zero, as an embedding's padding row, would otherwise keep the
# whole tensor in the general loop, about 2x slower, for ever). A hint only: cleared on
# load_state_dict and re-verified at each re-anchoring step, so the kernel's general mode
# recomputes it. Keyed by id() with a weak reference checked on use (tensors compare elementwise,
# so they cannot be dict keys).
OFF_LIST_FRACTION = 1 / 16
_NO_INDICES = torch.empty(0, dtype=torch.long)


def _activation_mode(kernels, since: torch.Tensor, step: int, table_values: dict, recheck: bool, hints: dict):
    """Which kernel loop can run: the general one, one that only reads active_since, or neither;
    with it the indices of the elements still off (empty for none).
    ``table_values(k)``: 1 / sqrt(bc2) for k steps with the gate open (one lookup per distinct k)."""
    known = None if recheck else hints.get(id(since))
    if known is None or known[0]() is not since:
        return kernels.MODE_ACTIVATING, 0.0, _NO_INDICES
    _, first_on, last_on, off = known
    if first_on == last_on:  # all on elements turned on at the same step: one bias correction
        return kernels.MODE_UNIFORM, table_values(step - int(first_on) + 1), off
    return kernels.MODE_ACTIVE, 0.0, off


def _remember_activation(kernels, since: torch.Tensor, mode, off: torch.Tensor, result, hints: dict) -> None:
    """The hint for ``since`` after a step (see ``_activation_mode``) from the kernel's
    (elements still off, first and last activation step among those on) of that step."""
    still_off, first_on, last_on = result
    if mode != kernels.MODE_ACTIVATING:
        if off.numel() == 0:
            return  # nothing changed
        _, first_before, last_before, _ = hints[id(since)]
        opened = last_on > 0  # the kernel reports over the listed elements only
        first_on, last_on = (min(first_before, first_on), max(last_before, last_on)) if opened else \
            (first_before, last_before)
        off = off[since.view(-1)[off] == 0] if opened else off
    elif still_off == 0 or (last_on > 0 and still_off <= OFF_LIST_FRACTION * since.numel()):
        off = torch.nonzero(since.view(-1) == 0).view(-1) if still_off else _NO_INDICES  # flat indices
    else:
        hints.pop(id(since), None)
        return
    hints[id(since)] = (weakref.ref(since), first_on, last_on, off)


def kernel_update(ops, params, grads, state: AdaShiftState, hp: AdaShiftHyper, step: int, *,
                  table: torch.Tensor | None = None, hints: dict | None = None, recheck: bool = True) -> None:
    """Every layout's step through the one-pass CPU kernels (same formulas), all tensors in one call.

    Coupled weight decay is added to g first (one extra pass, only when it is used), so the kernels
    never read p into the gradient; the decoupled factor is applied inside the kernel. ``table``
    (reduce "none"): :func:`_bias_correction_table`; ``hints``: see ``_activation_mode``."""
    kernels = _native.cpu_kernels()
    decay = hp.weight_decay if hp.decoupled_weight_decay else 0.0  # the kernel's decoupled factor
    if not hp.decoupled_weight_decay:
        grads = _decay(ops, params, grads, hp)  # coupled: g + weight_decay * p
    slot = (step - 1) % hp.keep_num
    weights = _weights_by_slot(hp.beta1, hp.keep_num, slot)
    common = (step, hp.lr, hp.beta1, hp.beta1**hp.keep_num, hp.beta2, hp.eps, decay, hp.decoupled_weight_decay,
              1 / sum(weights))
    if hp.reduce != "none":  # one v per tensor; window and window_sum None in the lean layout
        kernels.adashift_reduced_group_step(params, grads, state.window, slot, state.window_sum, state.window_phi,
                                            state.exp_avg_sq, state.active_since, *common, hp.reduce == "max")
        return
    hints = {} if hints is None else hints
    last = table.shape[0] - 1

    @functools.lru_cache(maxsize=None)  # this step's lookups: most tensors opened at the same step
    def table_values(k: int) -> float:
        return table[min(k, last)].item()

    modes = [_activation_mode(kernels, since, step, table_values, recheck, hints) for since in state.active_since]
    results = kernels.adashift_elementwise_group_step(
        params, grads, state.window, slot, state.window_sum, state.exp_avg_sq, state.active_since, table, *common,
        [mode for mode, _, _ in modes], [uniform for _, uniform, _ in modes],
        [off for _, _, off in modes])  # window_sum None: the lean layout
    for since, (mode, _, off), result in zip(state.active_since, modes, results):
        _remember_activation(kernels, since, mode, off, result, hints)


# -- which version runs ------------------------------------------------------------------------------
def choose_update(params, grads, state: AdaShiftState, hp: AdaShiftHyper, step: int, *, fast: bool,
                  hints: dict | None = None, recheck: bool = True):
    """The one place a path is chosen (module docstring, 'Paths'); the layout is the state's (no
    running sum: lean). Returns a function of the common signature."""
    tensors = [*params, *grads, *(t for field in state if field is not None for t in field)]
    lean = state.window_sum is None
    if not fast:
        return lean_update if lean else reference_update
    if _native.usable(*tensors):
        if hp.reduce != "none":
            return kernel_update
        table = _bias_correction_table(hp.beta2, state.exp_avg_sq[0].dtype, step)
        if table is not None:
            return functools.partial(kernel_update, table=table, hints=hints, recheck=recheck)
    if _triton.usable(*tensors):  # CUDA (one dtype: a bf16 window takes the multi-tensor path)
        return _triton.adashift_update
    return lean_update if lean else running_sum_update


def adashift_update(ops, params, grads, state: AdaShiftState, hp: AdaShiftHyper, step: int, *,
                    fast: bool = True, reanchor_every: int = 100, hints: dict | None = None,
                    reanchor: bool = False) -> None:
    """One step for a list of tensors (in place): every ``reanchor_every`` steps, and whenever
    ``reanchor`` says so (beta1 changed since the sum was built, or the sum's beta1 is unknown), the
    running sum is recomputed from the window (bounding its float drift; the sum is only valid for
    the beta1 it was built with), then the chosen path runs."""
    recheck = step % reanchor_every == 0 or reanchor
    if recheck and state.window_sum is not None:
        torch._foreach_copy_(state.window_sum, _sums_before_move(state, hp, step))
    update = choose_update(params, grads, state, hp, step, fast=fast, hints=hints, recheck=recheck)
    update(ops, params, grads, state, hp, step)


def _sums_before_move(state: AdaShiftState, hp: AdaShiftHyper, step: int) -> list:
    """The exact window sums at the start of ``step``, before the move (the window holds g_{t-1} .. g_{t-n})."""
    return exact_window_sums(state.window, hp.beta1, hp.keep_num, (step - 2) % hp.keep_num,
                             state.exp_avg_sq[0].dtype)


def _reanchor_stale_sums(state: AdaShiftState, hp: AdaShiftHyper, step: int) -> None:
    """A loaded running sum whose beta1 is unknown: kept when it equals the window's sum for this
    beta1 within the running sum's own float drift (so a resume stays bit-exact), replaced by the
    exact sum otherwise (it was built with another beta1, e.g. saved mid-way through a schedule)."""
    for stored, value, window in zip(state.window_sum, _sums_before_move(state, hp, step), state.window):
        scale = float(window.abs().max()) if window.numel() else 0.0
        # a window holding inf/nan (a diverged run's state) has no drift scale: take the exact sum
        if not math.isfinite(scale) or not torch.allclose(stored, value, rtol=1e-5, atol=1e-5 * scale):
            stored.copy_(value)


class AdaShift(AdaptiveOptimizer):
    __doc__ = __doc__

    reanchor_every = 100  # steps between exact recomputations of the running window sum

    state_shaping = ("keep_num", "reduce", "betas")
    state_variants = ({"reduce": "none"}, {"reduce": "max"}, {"reduce": "max", "betas": (0.0, 0.999)},
                      {"reduce": "none", "betas": (0.0, 0.999)})

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), keep_num=10, reduce="max", eps=1e-10,
                 weight_decay=0.0, decoupled_weight_decay=False, *, window_dtype=None, foreach=None,
                 fused=None, maximize=False, capturable=False, differentiable=False):
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas,
                        keep_num=keep_num, reduce=reduce, eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay, window_dtype=window_dtype)
        self._activation_hints: dict = {}  # which active_since tensors are all on (see _activation_mode)
        self._sum_beta1: dict = {}  # id(first window_sum tensor) -> (weakref, the beta1 the sums were built with)
        super().__init__(params, defaults, foreach, fused, maximize, capturable, differentiable)

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        self._activation_hints.clear()  # new state tensors: every hint is recomputed
        self._sum_beta1.clear()  # and the running sums are re-anchored at the next step

    def __setstate__(self, state: dict) -> None:
        # copy.deepcopy and pickle restore only what torch's Optimizer.__getstate__ keeps (defaults,
        # state, param_groups): the hints are a cache about tensors the copy no longer shares
        super().__setstate__(state)
        self._activation_hints, self._sum_beta1 = {}, {}

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

    @staticmethod
    def _hyper(group: dict) -> AdaShiftHyper:
        beta1, beta2 = group["betas"]
        return AdaShiftHyper(group["lr"], beta1, beta2, group["keep_num"], group["reduce"], group["eps"],
                             group["weight_decay"], group["decoupled_weight_decay"])

    def _init_state(self, param, state, group):
        dtype = state_dtype(param)
        moment_shape = param.shape if group["reduce"] == "none" else ()
        lean = lean_layout(group)
        if not lean or group["reduce"] == "none":
            window_dtype = group["window_dtype"] or dtype
            state["window"] = param.new_zeros((group["keep_num"], *param.shape), dtype=window_dtype)
        if not lean:
            state["window_sum"] = param.new_zeros(param.shape, dtype=dtype)
        if group["reduce"] != "none":
            state["window_phi"] = param.new_zeros((group["keep_num"],), dtype=dtype)
        state["exp_avg_sq"] = param.new_zeros(moment_shape, dtype=dtype)
        state["active_since"] = param.new_zeros(moment_shape, dtype=dtype)

    def _update(self, group, ops, params, grads, states, step):
        hp, state = self._hyper(group), AdaShiftState.of(states)
        self._check_layout(lean_layout(group), hp, state)
        reanchor = False
        if state.window_sum is not None:  # the running sum holds sum beta1^i g_{t-i} for one beta1
            key = id(state.window_sum[0])
            known = self._sum_beta1.get(key)
            if known is not None and known[0]() is state.window_sum[0]:
                reanchor = known[1] != hp.beta1  # beta1 changed (a momentum-cycling scheduler)
            elif step > 1:  # loaded or copied: keep the sums if they are this beta1's, else rebuild them
                _reanchor_stale_sums(state, hp, step)
            self._sum_beta1[key] = (weakref.ref(state.window_sum[0]), hp.beta1)
        adashift_update(ops, params, grads, state, hp, step, fast=group["fused"] is not False,
                        reanchor_every=self.reanchor_every, hints=self._activation_hints, reanchor=reanchor)

    @staticmethod
    def _check_layout(lean: bool, hp: AdaShiftHyper, state: AdaShiftState) -> None:
        """Refuse a state whose layout the group's settings no longer describe (changed mid-run)."""
        if lean != (state.window_sum is None):
            made_lean = state.window_sum is None
            raise ValueError(
                f"AdaShift state was made with beta1 {'0' if made_lean else '> 0'} (the "
                f"{'lean' if made_lean else 'windowed'} layout) but beta1 is {hp.beta1}; "
                f"beta1 cannot change between 0 and nonzero in the middle of a run")
        phis_list = state.window_phi or [None] * len(state.exp_avg_sq)
        for i, (v, phis) in enumerate(zip(state.exp_avg_sq, phis_list)):
            if (phis is None) != (hp.reduce == "none"):  # window_phi: made by reduce max/mean only
                raise ValueError(
                    f"AdaShift state was made with reduce {'none' if phis is None else 'max/mean'} but reduce is "
                    f"{hp.reduce!r}; reduce cannot change in the middle of a run")
            slots = phis.shape[0] if state.window is None else state.window[i].shape[0]
            if slots != hp.keep_num:
                raise ValueError(
                    f"AdaShift state holds a window of {slots} gradients but keep_num is "
                    f"{hp.keep_num}; keep_num cannot change in the middle of a run")
