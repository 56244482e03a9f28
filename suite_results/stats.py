"""The spread of a result over seeds: mean, standard deviation and a bootstrap interval."""

from __future__ import annotations

import numpy as np


def spread(values, confidence: float = 0.95, resamples: int = 10_000, seed: int = 0) -> dict:
    """{'n', 'mean', 'std' (ddof 1; 0 for one value), 'ci_low', 'ci_high'}: a percentile bootstrap
    interval of the mean (with one value the interval is that value)."""
    data = np.asarray([float(v) for v in values], dtype=np.float64)
    if data.size == 0:
        raise ValueError("spread() of no values")
    mean = float(data.mean())
    std = float(data.std(ddof=1)) if data.size > 1 else 0.0
    if data.size == 1:
        return {"n": 1, "mean": mean, "std": std, "ci_low": mean, "ci_high": mean}
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return {"n": int(data.size), "mean": mean, "std": std, "ci_low": float(low), "ci_high": float(high)}


def format_spread(s: dict, digits: int = 2, significant: int | None = None) -> str:
    """'26.90 ± 0.41 [26.4, 27.3]' (mean ± std [95% bootstrap interval]) with ``digits`` decimals;
    with ``significant``, '0.09346 ± 0.0012 [0.09241, 0.09452]' (that many significant digits, two for the std)."""
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
