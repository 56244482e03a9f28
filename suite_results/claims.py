"""Verdicts on a paper's claims from paired runs (the same seed: the same initialisation and data
order), written once for every benchmark.

A claim compares two candidates seed by seed: the difference ``a - b`` on each seed both ran, its
mean and 95% bootstrap interval (``suite_results.stats.spread``). "A beats B" is *reproduced* when
the whole interval lies on A's side, *not reproduced (B beats A)* when it lies on B's side, and *not
reproduced (no clear difference)* otherwise; "A within m of B" is reproduced when the mean
difference is no worse than ``-m``. A claim is *pending* until both candidates have ``seeds`` runs.
"""

from __future__ import annotations

from .stats import spread

ORDER = ("pending", "not reproduced", "reproduced")  # a claim of several comparisons takes the worst


def paired(a_rows: list[dict], b_rows: list[dict], key: str) -> dict | None:
    """spread() of ``a[key] - b[key]`` over the seeds both have; None without a common seed."""
    theirs = {r["seed"]: r[key] for r in b_rows}
    diffs = [r[key] - theirs[r["seed"]] for r in a_rows if r["seed"] in theirs]
    return spread(diffs) if diffs else None


def _measured(a: str, b: str, d: dict, unit: str) -> str:
    unit = f" {unit}" if unit else ""
    return f"{a} - {b} per seed: {d['mean']:+.4g} [{d['ci_low']:+.4g}, {d['ci_high']:+.4g}]{unit} ({d['n']} seeds)"


def beats(a: str, a_rows: list, b: str, b_rows: list, key: str, seeds: int, higher_is_better: bool,
          unit: str = "", win: str = "beats", by: float = 0.0) -> tuple[str, str]:
    """(verdict, measured) of "a beats b" on ``key`` (``win``: the verb for the text, e.g. "below");
    ``by``: "a beats b by at least ``by``", which also needs the mean paired gain to reach it."""
    d = paired(a_rows, b_rows, key)
    if d is None or len(a_rows) < seeds or len(b_rows) < seeds:
        return "pending", f"{a} - {b}: {len(a_rows)} and {len(b_rows)} of {seeds} seeds"
    sign = 1 if higher_is_better else -1
    low, high = sorted((sign * d["ci_low"], sign * d["ci_high"]))
    gain = sign * d["mean"]
    verdict = (f"not reproduced ({a} ahead of {b} by {gain:.2f}{' ' + unit if unit else ''}, less than {by:g})"
               if low > 0 and gain < by else "reproduced" if low > 0 else
               f"not reproduced ({b} {win} {a})" if high < 0 else "not reproduced (no clear difference)")
    return verdict, _measured(a, b, d, unit)


def within(a: str, a_rows: list, b: str, b_rows: list, key: str, seeds: int, margin: float,
           unit: str = "") -> tuple[str, str]:
    """(verdict, measured) of "a within ``margin`` of b" (higher is better) on ``key``."""
    d = paired(a_rows, b_rows, key)
    if d is None or len(a_rows) < seeds or len(b_rows) < seeds:
        return "pending", f"{a} - {b}: {len(a_rows)} and {len(b_rows)} of {seeds} seeds"
    return ("reproduced" if d["mean"] >= -margin else "not reproduced"), _measured(a, b, d, unit)


def claim(text: str, results: list[tuple[str, str]], why: str = "") -> dict:
    """One claim from its comparisons: the worst verdict (a clear reversal before "no clear
    difference"), every measurement, and ``why`` (the evidence when it fails)."""
    if not results:
        return {"claim": text, "verdict": "pending", "measured": "no runs", "why": why}
    # the worst verdict; among equally bad ones a clear reversal ("B beats A") before "no clear difference"
    worst = min((v for v, _ in results), key=lambda v: (next(i for i, o in enumerate(ORDER) if v.startswith(o)),
                                                         "no clear difference" in v))
    return {"claim": text, "verdict": worst, "measured": "; ".join(m for _, m in results),
            "why": why if worst != "reproduced" and not worst.startswith("pending") else ""}
