"""The Triton kernels behind ``optim_plugins._triton`` (imported only when they are about to run)."""

from __future__ import annotations

import functools
import math

import torch
import triton
import triton.language as tl

BLOCK = 1024


class _Tables:
    """Address tables of lists of tensors (one row per list) and the block -> (tensor, start) map."""

    _cache: dict = {}

    def __init__(self, numels: list[int], lists: list[list[torch.Tensor]], device):
        key = (str(device), tuple(numels), tuple(t.data_ptr() for tensors in lists for t in tensors))
        cached = self._cache.get(key)
        if cached is None:
            tensor_of, start_of = [], []
            for index, numel in enumerate(numels):
                for start in range(0, max(numel, 1), BLOCK):
                    tensor_of.append(index)
                    start_of.append(start)
            cached = (torch.tensor([[t.data_ptr() for t in tensors] for tensors in lists], dtype=torch.int64,
                                   device=device),
                      torch.tensor(numels, dtype=torch.int64, device=device),
                      torch.tensor(tensor_of, dtype=torch.int32, device=device),
                      torch.tensor(start_of, dtype=torch.int64, device=device))
            if len(self._cache) > 256:  # tables are a function of their key: dropping them is always safe
                self._cache.clear()
            self._cache[key] = cached
        self.pointers, self.numels, self.tensor_of, self.start_of = cached
        self.stride = len(numels)  # row r of the table starts at r * stride
        self.grid = (len(self.tensor_of),)


@triton.jit
def _block(tensor_of, start_of, numels, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    t = tl.load(tensor_of + pid)
    offsets = tl.load(start_of + pid) + tl.arange(0, BLOCK)
    return t, offsets, offsets < tl.load(numels + t)


@triton.jit
def _pointer(ref, table, row, stride, t):
    """The address of tensor t of list ``row``, typed as ``ref``'s elements."""
    return tl.load(table + row * stride + t).to(tl.pointer_type(ref.dtype.element_ty))


def _decay_mode(weight_decay: float, decoupled: bool) -> int:
    """0: no weight decay (p is not read into g: an inf p must not turn g NaN), 1: coupled, 2: decoupled."""
    return 0 if weight_decay == 0 else 2 if decoupled else 1


def _hyper(like: torch.Tensor, *values: float) -> torch.Tensor:
    """The step's numbers as a tensor of the parameters' dtype (Triton would pass Python floats as
    float32, which rounds them for float64 parameters). On CUDA it is copied from pinned memory
    without blocking: torch's pinned-memory cache keeps the buffer until the copy is done, and the
    host never waits for the GPU."""
    if like.device.type == "cuda":
        return torch.tensor(values, dtype=like.dtype, pin_memory=True).to(like.device, non_blocking=True)
    return torch.tensor(values, dtype=like.dtype, device=like.device)


# -- AdamAL: m = b1 m + (1-b1) g; v = max(v, b2 v + (1-b2) g^2); p -= lr/bc1 m / (sqrt(v)/sqrt(bc2) + eps)
@triton.jit
def _adamal_kernel(ref, table, stride, numels, tensor_of, start_of, hyper, decay: tl.constexpr,
                   BLOCK: tl.constexpr):
    lr, beta1, beta2, eps = tl.load(hyper), tl.load(hyper + 1), tl.load(hyper + 2), tl.load(hyper + 3)
    weight_decay, bias_correction1, bias_correction2_sqrt = tl.load(hyper + 4), tl.load(hyper + 5), tl.load(hyper + 6)
    t, offsets, mask = _block(tensor_of, start_of, numels, BLOCK)
    p_ptr, g_ptr = _pointer(ref, table, 0, stride, t) + offsets, _pointer(ref, table, 1, stride, t) + offsets
    m_ptr, v_ptr = _pointer(ref, table, 2, stride, t) + offsets, _pointer(ref, table, 3, stride, t) + offsets
    p, g = tl.load(p_ptr, mask=mask), tl.load(g_ptr, mask=mask)
    m, v = tl.load(m_ptr, mask=mask), tl.load(v_ptr, mask=mask)
    if decay == 2:  # decoupled
        p = p * (1 - lr * weight_decay)
    elif decay == 1:  # coupled (L2)
        g = g + weight_decay * p
    m = beta1 * m + (1 - beta1) * g
    v = tl.maximum(v, beta2 * v + (1 - beta2) * g * g)
    p = p - (lr / bias_correction1) * m / (tl.sqrt(v) / bias_correction2_sqrt + eps)
    tl.store(p_ptr, p, mask=mask)
    tl.store(m_ptr, m, mask=mask)
    tl.store(v_ptr, v, mask=mask)


def adamal_update(params, grads, exp_avgs, exp_avg_sqs, *, step, lr, beta1, beta2, eps, weight_decay,
                  decoupled_weight_decay) -> None:
    tables = _Tables([p.numel() for p in params], [params, grads, exp_avgs, exp_avg_sqs], params[0].device)
    hyper = _hyper(params[0], lr, beta1, beta2, eps, weight_decay, 1 - beta1**step, (1 - beta2**step) ** 0.5)
    _adamal_kernel[tables.grid](params[0], tables.pointers, tables.stride, tables.numels, tables.tensor_of,
                                tables.start_of, hyper, _decay_mode(weight_decay, decoupled_weight_decay),
                                BLOCK=BLOCK)


# -- ADOPT: ghat = clip(g / max(sqrt(v), eps), +-bound); m = b1 m + (1-b1) ghat; p -= lr m; v = b2 v + (1-b2) g^2
@triton.jit
def _adopt_kernel(ref, table, stride, numels, tensor_of, start_of, hyper, decay: tl.constexpr,
                  first: tl.constexpr, clip: tl.constexpr, BLOCK: tl.constexpr):
    lr, beta1, beta2, eps = tl.load(hyper), tl.load(hyper + 1), tl.load(hyper + 2), tl.load(hyper + 3)
    weight_decay, bound = tl.load(hyper + 4), tl.load(hyper + 5)
    t, offsets, mask = _block(tensor_of, start_of, numels, BLOCK)
    p_ptr, g_ptr = _pointer(ref, table, 0, stride, t) + offsets, _pointer(ref, table, 1, stride, t) + offsets
    m_ptr, v_ptr = _pointer(ref, table, 2, stride, t) + offsets, _pointer(ref, table, 3, stride, t) + offsets
    p, g, v = tl.load(p_ptr, mask=mask), tl.load(g_ptr, mask=mask), tl.load(v_ptr, mask=mask)
    if decay == 1:  # coupled (L2), at every call
        g = g + weight_decay * p
    if first:  # t = 1: v_1 = g_1^2, nothing moves
        tl.store(v_ptr, v + g * g, mask=mask)
    else:
        m = tl.load(m_ptr, mask=mask)
        if decay == 2:  # decoupled, from the first update on
            p = p * (1 - lr * weight_decay)
        normalised = g / tl.maximum(tl.sqrt(v), eps)
        if clip:
            normalised = tl.minimum(tl.maximum(normalised, -bound), bound)
        m = beta1 * m + (1 - beta1) * normalised
        tl.store(p_ptr, p - lr * m, mask=mask)
        tl.store(m_ptr, m, mask=mask)
        tl.store(v_ptr, beta2 * v + (1 - beta2) * g * g, mask=mask)


def adopt_update(params, grads, exp_avgs, exp_avg_sqs, *, step, lr, beta1, beta2, eps, weight_decay,
                 decoupled_weight_decay, clip_exponent) -> None:
    clip = clip_exponent is not None and step > 1
    tables = _Tables([p.numel() for p in params], [params, grads, exp_avgs, exp_avg_sqs], params[0].device)
    hyper = _hyper(params[0], lr, beta1, beta2, eps, weight_decay, (step - 1) ** clip_exponent if clip else 0.0)
    _adopt_kernel[tables.grid](params[0], tables.pointers, tables.stride, tables.numels, tables.tensor_of,
                               tables.start_of, hyper, _decay_mode(weight_decay, decoupled_weight_decay), step == 1,
                               clip, BLOCK=BLOCK)


# -- AdaShift ------------------------------------------------------------------------------------------
# hyper: step, lr, beta1, beta1^n, beta2, log2(beta2), eps, weight_decay, 1 / sum_{i<n} beta1^i
@triton.jit
def _adashift_elementwise_kernel(ref, table, stride, numels, tensor_of, start_of, slot, hyper,
                                 decay: tl.constexpr, has_sum: tl.constexpr, BLOCK: tl.constexpr):
    """reduce "none": v, the gate and k per element; the window ring and the running sum S (none in
    the lean layout, beta1 = 0: m = g)."""
    step, lr, beta1, beta1_n = tl.load(hyper), tl.load(hyper + 1), tl.load(hyper + 2), tl.load(hyper + 3)
    beta2, log2_beta2, eps = tl.load(hyper + 4), tl.load(hyper + 5), tl.load(hyper + 6)
    weight_decay, inverse_normaliser = tl.load(hyper + 7), tl.load(hyper + 8)
    t, offsets, mask = _block(tensor_of, start_of, numels, BLOCK)
    n = tl.load(numels + t)
    p_ptr, g_ptr = _pointer(ref, table, 0, stride, t) + offsets, _pointer(ref, table, 1, stride, t) + offsets
    v_ptr, since_ptr = _pointer(ref, table, 2, stride, t) + offsets, _pointer(ref, table, 3, stride, t) + offsets
    slot_ptr = _pointer(ref, table, 4, stride, t) + slot * n + offsets  # window[slot]
    p, g, old = tl.load(p_ptr, mask=mask), tl.load(g_ptr, mask=mask), tl.load(slot_ptr, mask=mask)
    v, since = tl.load(v_ptr, mask=mask), tl.load(since_ptr, mask=mask)
    if decay == 2:  # decoupled
        p = p * (1 - lr * weight_decay)
    elif decay == 1:  # coupled (L2)
        g = g + weight_decay * p
    v = beta2 * v + (1 - beta2) * old * old  # phi(g_{t-n}^2), elementwise
    since = tl.where((since == 0) & (v != 0), step, since)  # != 0: a NaN v opens the gate (visible)
    correction = tl.maximum(tl.where(since > 0, 1 - tl.exp2((step - since + 1) * log2_beta2), 0.0), 1e-8)
    if has_sum:
        s_ptr = _pointer(ref, table, 5, stride, t) + offsets
        s = beta1 * tl.load(s_ptr, mask=mask) - beta1_n * old + g  # S_t = beta1 S_{t-1} - beta1^n g_{t-n} + g_t
        tl.store(s_ptr, s, mask=mask)
        m = s * inverse_normaliser
    else:
        m = g
    update = m / (tl.sqrt(v / correction) + eps)
    tl.store(p_ptr, tl.where(since > 0, p - lr * update, p), mask=mask)
    tl.store(v_ptr, v, mask=mask)
    tl.store(since_ptr, since, mask=mask)
    tl.store(slot_ptr, g, mask=mask)


@triton.jit
def _adashift_scalars_kernel(ref, table, stride, slot, hyper):
    """reduce max/mean, one program per tensor: v_t = b2 v + (1-b2) phi(g_{t-n}^2), the gate, and the
    step's per-tensor factor 1 / (sqrt(v / bc2) + eps) into ``scale`` (-1 while the gate is closed)."""
    step, beta2, log2_beta2, eps = tl.load(hyper), tl.load(hyper + 4), tl.load(hyper + 5), tl.load(hyper + 6)
    t = tl.program_id(0)
    phi = tl.load(_pointer(ref, table, 0, stride, t) + slot)  # window_phi[slot]: phi(g_{t-n}^2)
    v_ptr, since_ptr = _pointer(ref, table, 1, stride, t), _pointer(ref, table, 2, stride, t)
    v = beta2 * tl.load(v_ptr) + (1 - beta2) * phi
    since = tl.load(since_ptr)
    since = tl.where((since == 0) & (v != 0), step, since)
    correction = tl.maximum(tl.where(since > 0, 1 - tl.exp2((step - since + 1) * log2_beta2), 0.0), 1e-8)
    tl.store(v_ptr, v)
    tl.store(since_ptr, since)
    # -1 (never a value of 1 / denominator, which is >= 0 or NaN) marks a closed gate: nothing moves
    tl.store(_pointer(ref, table, 3, stride, t), tl.where(since > 0, 1 / (tl.sqrt(v / correction) + eps), -1.0))


@triton.jit
def _adashift_reduced_kernel(ref, table, stride, numels, tensor_of, start_of, slot, hyper,
                             decay: tl.constexpr, lean: tl.constexpr, use_max: tl.constexpr,
                             BLOCK: tl.constexpr):
    """reduce max/mean: p -= lr * scale * m (m = g in the lean layout, else S / sum b1^i with the
    window ring), and max / sum of g^2 of each tensor into ``entering`` (atomics across blocks)."""
    lr, beta1, beta1_n = tl.load(hyper + 1), tl.load(hyper + 2), tl.load(hyper + 3)
    weight_decay, inverse_normaliser = tl.load(hyper + 7), tl.load(hyper + 8)
    t, offsets, mask = _block(tensor_of, start_of, numels, BLOCK)
    p_ptr, g_ptr = _pointer(ref, table, 0, stride, t) + offsets, _pointer(ref, table, 1, stride, t) + offsets
    scale = tl.load(_pointer(ref, table, 2, stride, t))
    p, g = tl.load(p_ptr, mask=mask), tl.load(g_ptr, mask=mask, other=0.0)
    if decay == 2:  # decoupled
        p = p * (1 - lr * weight_decay)
    elif decay == 1:  # coupled (L2)
        g = g + weight_decay * p
    if lean:
        m = g
    else:
        n = tl.load(numels + t)
        slot_ptr = _pointer(ref, table, 4, stride, t) + slot * n + offsets
        s_ptr = _pointer(ref, table, 5, stride, t) + offsets
        s = beta1 * tl.load(s_ptr, mask=mask) - beta1_n * tl.load(slot_ptr, mask=mask) + g
        tl.store(slot_ptr, g, mask=mask)
        tl.store(s_ptr, s, mask=mask)
        m = s * inverse_normaliser
    tl.store(p_ptr, tl.where(scale != -1.0, p - lr * scale * m, p), mask=mask)  # a closed gate moves nothing
    squares = tl.where(mask, g * g, 0.0)
    entering = _pointer(ref, table, 3, stride, t)
    if use_max:  # NaN must win, as in torch's max: counted apart (float atomic max may drop a NaN)
        tl.atomic_max(entering, tl.max(squares, axis=0))
        nan_count = tl.sum((squares != squares).to(ref.dtype.element_ty), axis=0)
        if lean:
            tl.atomic_add(_pointer(ref, table, 4, stride, t), nan_count)
        else:
            tl.atomic_add(_pointer(ref, table, 6, stride, t), nan_count)
    else:
        tl.atomic_add(entering, tl.sum(squares, axis=0))


@functools.lru_cache(maxsize=64)
def _scratch(device, dtype, count: int):
    """Per-tensor scratch numbers of AdaShift's reduce max/mean step (the step's factor, phi of the
    gradient entering the window, its count of NaN squares), reused from step to step so the address tables stay cached."""
    scale, entering, nans = (torch.empty(count, dtype=dtype, device=device) for _ in range(3))
    return scale, entering, nans, list(scale.unbind()), list(entering.unbind()), list(nans.unbind())


def adashift_update(ops, params, grads, state, hp, step: int) -> None:
    """AdaShift's step (``adashift.AdaShiftState`` / ``AdaShiftHyper``), every layout, as the O(1) path."""
    slot, device = (step - 1) % hp.keep_num, params[0].device
    hyper = _hyper(params[0], step, hp.lr, hp.beta1, hp.beta1**hp.keep_num, hp.beta2,
                   math.log2(hp.beta2) if hp.beta2 > 0 else -math.inf, hp.eps, hp.weight_decay,
                   1 / sum(hp.beta1**i for i in range(hp.keep_num)))
    numels = [p.numel() for p in params]
    decay = _decay_mode(hp.weight_decay, hp.decoupled_weight_decay)
    if hp.reduce == "none":
        has_sum = state.window_sum is not None
        tables = _Tables(numels, [params, grads, state.exp_avg_sq, state.active_since, state.window]
                         + ([state.window_sum] if has_sum else []), device)
        _adashift_elementwise_kernel[tables.grid](params[0], tables.pointers, tables.stride, tables.numels,
                                                  tables.tensor_of, tables.start_of, slot, hyper, decay,
                                                  has_sum, BLOCK=BLOCK)
        return
    scale, entering, nans, scales, enterings, nan_counts = _scratch(device, params[0].dtype, len(params))
    entering.zero_()
    nans.zero_()
    tables = _Tables([1] * len(params), [state.window_phi, state.exp_avg_sq, state.active_since, scales], device)
    _adashift_scalars_kernel[(len(params),)](params[0], tables.pointers, tables.stride, slot, hyper)
    lean = state.window is None
    lists = [params, grads, scales, enterings] + ([] if lean else [state.window, state.window_sum]) + [nan_counts]
    tables = _Tables(numels, lists, device)
    _adashift_reduced_kernel[tables.grid](params[0], tables.pointers, tables.stride, tables.numels, tables.tensor_of,
                                          tables.start_of, slot, hyper, decay, lean, hp.reduce == "max",
                                          BLOCK=BLOCK)
    if hp.reduce == "mean":
        entering /= tables.numels  # on the device already: no copy, no wait
    else:
        entering.masked_fill_(nans > 0, math.nan)
    torch._foreach_copy_([phis[slot] for phis in state.window_phi], enterings)
