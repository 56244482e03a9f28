"""Non-convergence map and net update factors.

* ``critical_c``: in the stochastic example, the smallest C at which Adam's expected update
  E[m_t / sqrt(v_t)] (steady state, Monte Carlo with common random numbers across C) turns
  non-positive, i.e. theta no longer moves towards -infinity although E[g] = delta > 0.
* ``net_update_factor``: k(g_t) = sum_{i>=t} lr_i / sqrt(v_i) (1 - beta1) beta1^(i-t), the total
  weight with which g_t moves x over all later steps (for AdaShift the window weights replace
  (1 - beta1) beta1^j). Adam's k(C) < k(-1) is why the rare large gradient loses.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from .paths import _ema


def adam_expected_direction(beta1: float, beta2: float, Cs: np.ndarray, delta: float = 0.02,
                            steps: int = 200_000, seed: int = 0, eps: float = 1e-8) -> np.ndarray:
    """Mean of m_t / (sqrt(v_t) + eps) over the steady state, for each C (same uniforms for all)."""
    uniforms = np.random.default_rng(seed).random(steps)
    burn_in = min(steps // 5, int(20 / (1 - beta2)))
    means = []
    for C in Cs:
        p = (1 + delta) / (C + 1)
        g = np.where(uniforms < p, C, -1.0)
        m, v = _ema(g, beta1), _ema(g * g, beta2)
        means.append(np.mean((m / (np.sqrt(v) + eps))[burn_in:]))
    return np.array(means)


def critical_c(beta1: float, beta2: float, Cs: np.ndarray, **kwargs) -> float:
    """Smallest C (interpolated on the grid) where Adam's expected step direction is wrong; inf if none."""
    direction = adam_expected_direction(beta1, beta2, Cs, **kwargs)
    wrong = np.nonzero(direction <= 0)[0]
    if len(wrong) == 0:
        return float("inf")
    i = wrong[0]
    if i == 0:
        return float(Cs[0])
    c0, c1, d0, d1 = Cs[i - 1], Cs[i], direction[i - 1], direction[i]
    return float(c0 + (c1 - c0) * d0 / (d0 - d1))


def critical_c_map(beta1s, beta2s, Cs, **kwargs) -> np.ndarray:
    return np.array([[critical_c(b1, b2, Cs, **kwargs) for b2 in beta2s] for b1 in beta1s])


def _future_sum(values: np.ndarray, weights: np.ndarray | None, beta1: float) -> np.ndarray:
    """k_t = sum_j w_j values_{t+j}: Adam's w_j = (1-beta1) beta1^j, or AdaShift's window weights."""
    reversed_values = values[::-1]
    if weights is None:
        out = lfilter([1 - beta1], [1, -beta1], reversed_values)
    else:
        out = lfilter(weights, [1.0], reversed_values)
    return out[::-1]


def simulated_net_update_factors(gradients: np.ndarray, optimizer: str, beta1: float,
                                 beta2: float, keep_num: int = 1, tail: int = 2000) -> dict:
    """Average k(g_t) over steps with g_t = max(g) ('C') and the others ('-1'), constant lr = 1.

    Adam: v_t includes g_t. AdaShift: v_t from g_{t-n}, m a window of n weights.
    """
    g = np.asarray(gradients, dtype=np.float64)
    if optimizer == "adam":
        v = _ema(g * g, beta2)
        weights = None
    elif optimizer == "adashift":
        shifted = np.zeros_like(g)
        shifted[keep_num:] = g[:-keep_num]
        v = _ema(shifted * shifted, beta2)
        w = beta1 ** np.arange(keep_num)
        weights = w / w.sum()
    else:
        raise ValueError(f"net update factors are defined here for 'adam' and 'adashift', not {optimizer!r}")
    with np.errstate(divide="ignore"):
        inverse_root = np.where(v > 0, 1 / np.sqrt(v), 0.0)
    k = _future_sum(inverse_root, weights, beta1)
    start = max(len(g) // 5, keep_num + 1)
    valid = slice(start, len(g) - tail)
    big = g[valid] == g.max()
    return {"C": float(k[valid][big].mean()), "-1": float(k[valid][~big].mean())}


def sequential_closed_form_factors(C: float, d: int, beta1: float, beta2: float,
                                   periods: int = 2000) -> dict:
    """From lim v_{nd+i} = (1-beta2)/(1-beta2^d) (C^2-1) beta2^(i-1) + 1, i = 1..d (slides)."""
    i = np.arange(1, d + 1)
    v = (1 - beta2) / (1 - beta2**d) * (C**2 - 1) * beta2 ** (i - 1) + 1
    periodic = np.tile(1 / np.sqrt(v), periods)
    k = _future_sum(periodic, None, beta1)[:d]
    return {"C": float(k[0]), "-1": float(k[1:].mean())}
