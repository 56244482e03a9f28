"""Two independent ways to run a gradient sequence through an optimizer.

* ``run_torch``: the library's own optimizer classes; every run is one element of a float64
  tensor (AdaShift with reduce="none" keeps the elements independent), one ``step()`` per t.
* ``numpy_updates``: the same rules written as vectorized recurrences (``scipy.signal.lfilter``
  for the moving averages, cumulative max for AMSGrad), fast enough for 10^7 steps.

Both return x (theta) after every step; the tests check that they agree on the same sequence.
"""

from __future__ import annotations

from itertools import accumulate

import numpy as np
import torch
from scipy.signal import lfilter

from optim_plugins.registry import build_any
from optim_plugins.registry import hyperparameters

from .counterexamples import OptimizerSetting


def run_torch(setting: OptimizerSetting, gradients: np.ndarray, x0: float = 0.0,
              bounds: tuple[float, float] | None = None, record_every: int = 1) -> np.ndarray:
    """x after steps record_every, 2*record_every, ... for each run (row of ``gradients``)."""
    runs, steps = gradients.shape
    x = torch.full((runs,), float(x0), dtype=torch.float64, requires_grad=True)
    optimizer = build_any(setting.name, [x], **setting.kwargs())
    lrs = setting.lr_at(steps)
    grads = torch.from_numpy(np.ascontiguousarray(gradients.T))
    recorded = []
    for t in range(steps):
        if setting.schedule == "inv_sqrt":
            optimizer.param_groups[0]["lr"] = float(lrs[t])
        x.grad = grads[t].clone()
        optimizer.step()
        if bounds is not None:
            with torch.no_grad():
                x.clamp_(*bounds)
        if (t + 1) % record_every == 0:
            recorded.append(x.detach().clone())
    return torch.stack(recorded, dim=1).numpy()


def _ema(x: np.ndarray, beta: float) -> np.ndarray:
    """y_t = beta y_{t-1} + (1 - beta) x_t along the last axis, y_0 = 0."""
    return lfilter([1 - beta], [1, -beta], x, axis=-1)


def _max_ema(squares: np.ndarray, beta: float) -> np.ndarray:
    """AdamAL's v_t = beta v + (1 - beta) max(s_t, v) = max(v, beta v + (1 - beta) s_t): sequential."""
    step = lambda v, s: max(v, beta * v + (1 - beta) * s)
    return np.array([list(accumulate(row, step, initial=0.0))[1:] for row in squares])


def numpy_updates(setting: OptimizerSetting, gradients: np.ndarray) -> np.ndarray:
    """The amount u_t subtracted from x at each step (before any projection)."""
    name, hp = setting.name, hyperparameters(setting.name, **setting.kwargs())  # with the class's defaults
    steps = gradients.shape[-1]
    t = np.arange(1, steps + 1, dtype=np.float64)
    lr = setting.lr_at(steps)
    eps = hp["eps"]
    if name in ("adam", "amsgrad", "adamal"):
        beta1, beta2 = hp["betas"]
        m = _ema(gradients, beta1)
        v = _max_ema(gradients**2, beta2) if name == "adamal" else _ema(gradients**2, beta2)
        if name == "amsgrad":
            v = np.maximum.accumulate(v, axis=-1)
        return lr / (1 - beta1**t) * m / (np.sqrt(v) / np.sqrt(1 - beta2**t) + eps)
    if name == "adamnc":
        if hp["beta1_decay"] != 1.0:
            raise ValueError("the NumPy path supports AdamNC with a constant beta1 (beta1_decay=1)")
        m = _ema(gradients, hp["beta1"])
        v = np.cumsum(gradients**2, axis=-1) / t
        lr_t = lr / np.sqrt(t) if hp["lr_decay"] else lr
        return lr_t * m / (np.sqrt(v) + eps)
    if name == "adashift":
        if hp["reduce"] != "none":
            raise ValueError("the NumPy path runs each element alone: AdaShift needs reduce='none' here")
        beta1, beta2 = hp["betas"]
        n = hp["keep_num"]
        shifted = np.zeros_like(gradients)
        shifted[..., n:] = gradients[..., :-n]  # g_{t-n}, zero for t <= n
        v = _ema(shifted**2, beta2)
        weights = beta1 ** np.arange(n)
        m = lfilter(weights / weights.sum(), [1.0], gradients, axis=-1)
        on = np.maximum.accumulate(v != 0, axis=-1)
        k = np.cumsum(on, axis=-1)
        correction = np.maximum(1e-8, 1 - beta2**k)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(on, lr * m / (np.sqrt(v / correction) + eps), 0.0)
    if name == "adopt":
        beta1, beta2 = hp["betas"]
        exponent = hp["clip_exponent"]
        v = np.empty_like(gradients)  # v_t: v_1 = g_1^2, then the EMA
        v[..., 0] = gradients[..., 0] ** 2
        if steps > 1:
            tail = lfilter([1 - beta2], [1, -beta2], gradients[..., 1:] ** 2, axis=-1,
                           zi=beta2 * v[..., :1])[0]  # zi: the filter state holding beta2 v_1
            v[..., 1:] = tail
        g_hat = np.zeros_like(gradients)  # t = 1 moves nothing
        g_hat[..., 1:] = gradients[..., 1:] / np.maximum(np.sqrt(v[..., :-1]), eps)
        if exponent is not None:
            bound = (t - 1) ** exponent
            g_hat = np.clip(g_hat, -bound, bound)
        m = _ema(g_hat, beta1)
        return lr * np.where(t > 1, m, 0.0)
    raise ValueError(f"No NumPy path for optimizer {name!r}")


def run_numpy(setting: OptimizerSetting, gradients: np.ndarray, x0: float = 0.0,
              bounds: tuple[float, float] | None = None) -> np.ndarray:
    """x after every step for each run, from ``numpy_updates`` (projected onto ``bounds``)."""
    updates = numpy_updates(setting, gradients)
    if bounds is None:
        return x0 - np.cumsum(updates, axis=-1)
    low, high = bounds
    project = lambda x, u: min(max(x - u, low), high)
    return np.array([list(accumulate(row, project, initial=float(x0)))[1:] for row in updates])
