"""The spread of a result over seeds: mean, standard deviation and a Student-t interval of the mean.

Why Student t and not a bootstrap: this suite has 3 to 10 seeds per result. A percentile bootstrap
of the mean of 3 values is exactly [min, max] of the three (every resample mean lies between them,
and at least 1 resample in 27 hits each extreme); its coverage of the true mean is about 75% for
normal data, not the 95% it is labelled with. The Student-t interval at n - 1 degrees of freedom,
mean ± t(1 - alpha/2, n - 1) * sd / sqrt(n), has its stated coverage for normal data at every n and
close to it for moderately skewed data (measured in tests/test_stats.py). No page of the suite
shows a bootstrap interval.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as _scipy

INTERVAL = "95% Student-t interval of the mean (n - 1 degrees of freedom)"


def t_quantile(p: float, df: int) -> float:
    """The p-quantile of Student's t with ``df`` degrees of freedom (t(0.975, 2) = 4.303)."""
    return float(_scipy.t.ppf(p, df))


def normal_quantile(p: float) -> float:
    """The p-quantile of the standard normal (0.8 -> 0.842)."""
    return float(_scipy.norm.ppf(p))


def t_interval(mean: float, sd: float, n: int, confidence: float = 0.95, df: int | None = None) -> tuple:
    """mean ± t((1 + confidence) / 2, df) * sd / sqrt(n); ``df`` defaults to n - 1 (Stein's
    two-stage interval passes its pilot's). (None, None) for n < 2 or df < 1: one value has no
    interval."""
    df = n - 1 if df is None else df
    if n < 2 or df < 1:
        return None, None
    half = t_quantile((1 + confidence) / 2, df) * sd / math.sqrt(n)
    return mean - half, mean + half


def spread(values, confidence: float = 0.95) -> dict:
    """{'n', 'mean', 'std' (ddof 1; 0 for one value), 'ci_low', 'ci_high'}: the Student-t interval of
    the mean at n - 1 degrees of freedom (None for one value: it has no interval)."""
    data = np.asarray([float(v) for v in values], dtype=np.float64)
    if data.size == 0:
        raise ValueError("spread() of no values")
    mean = float(data.mean())
    std = float(data.std(ddof=1)) if data.size > 1 else 0.0
    low, high = t_interval(mean, std, int(data.size), confidence)
    return {"n": int(data.size), "mean": mean, "std": std, "ci_low": low, "ci_high": high}


def format_spread(s: dict, digits: int = 2, significant: int | None = None) -> str:
    """'26.90 ± 0.41 [25.9, 27.9]' (mean ± std [95% t interval]) with ``digits`` decimals; with
    ``significant``, '0.09346 ± 0.0012 [0.09241, 0.09452]' (that many significant digits, two for the
    std). One value: '26.90 (1 run)'."""
    if s["ci_low"] is None:
        return (f"{s['mean']:.{significant}g}" if significant is not None else f"{s['mean']:.{digits}f}") + " (1 run)"
    if significant is not None:
        g = f".{significant}g"
        return f"{s['mean']:{g}} ± {s['std']:.2g} [{s['ci_low']:{g}}, {s['ci_high']:{g}}]"
    return (f"{s['mean']:.{digits}f} ± {s['std']:.{digits}f} "
            f"[{s['ci_low']:.{max(digits - 1, 1)}f}, {s['ci_high']:.{max(digits - 1, 1)}f}]")


def grid_edge(chosen: float, grid) -> str | None:
    """'upper' or 'lower' when ``chosen`` is the largest or smallest value of a grid of more than one
    value (the best setting may then lie beyond the grid: a reader should know), else None."""
    values = sorted(float(v) for v in grid)
    if len(values) < 2:
        return None
    return "upper" if chosen >= values[-1] else "lower" if chosen <= values[0] else None


def edge_note(chosen: float, grid) -> str:
    """'' or ' (at the grid's upper edge)' for tables."""
    edge = grid_edge(chosen, grid)
    return f" (at the grid's {edge} edge)" if edge else ""
