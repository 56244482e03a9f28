"""The suite's intervals and its seeds design, measured by simulation (suite_results.stats, .claims).

Each simulation is vectorised (tens of thousands of repetitions in well under a second) and seeded,
so the measured rates are exact repeatable numbers; the bands allow for their Monte Carlo error
(at 40,000 repetitions the standard error of a 95% coverage is 0.1 point).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from suite_results.claims import Design, Margin, beats, claim, equivalent, to_run, within
from suite_results.stats import format_spread, spread, t_interval

REPS = 40_000


def _t_coverage(draw, true_mean, n, rng) -> float:
    x = draw(rng, (REPS, n))
    mean, sd = x.mean(1), x.std(1, ddof=1)
    half = scipy_stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n)
    return float(np.mean(np.abs(mean - true_mean) <= half))


DISTRIBUTIONS = {  # name -> (draw, true mean)
    "normal": (lambda rng, shape: rng.normal(3.0, 2.0, shape), 3.0),
    "gamma(8), skewness 0.71": (lambda rng, shape: rng.gamma(8.0, 1.0, shape), 8.0),
}


@pytest.mark.parametrize("name", DISTRIBUTIONS)
@pytest.mark.parametrize("n", [3, 5, 10])
def test_the_t_interval_covers_the_true_mean_95_percent_of_the_time(name, n):
    draw, true_mean = DISTRIBUTIONS[name]
    coverage = _t_coverage(draw, true_mean, n, np.random.default_rng(n))
    assert 0.93 <= coverage <= 0.97, f"{name}, n={n}: coverage {coverage:.3f}"


def test_spread_is_that_interval():
    s = spread([1.0, 2.0, 4.0])
    half = scipy_stats.t.ppf(0.975, 2) * np.std([1, 2, 4], ddof=1) / np.sqrt(3)
    assert s["ci_low"] == pytest.approx(7 / 3 - half) and s["ci_high"] == pytest.approx(7 / 3 + half)
    assert s["ci_low"] < 1.0 and s["ci_high"] > 4.0  # wider than the range of the three: not [min, max]
    one = spread([5.0])
    assert one["ci_low"] is None and format_spread(one) == "5.00 (1 run)"


def test_the_old_percentile_bootstrap_at_three_seeds_is_the_range_and_covers_about_75_percent():
    """What the suite showed before: a percentile bootstrap of the mean of 3 values."""
    rng = np.random.default_rng(0)
    resample = rng.integers(0, 3, size=(2000, 3))
    samples = rng.normal(0.0, 1.0, size=(3000, 3))
    means = samples[:, resample].mean(axis=2)  # (samples, resamples)
    low, high = np.quantile(means, [0.025, 0.975], axis=1)
    assert np.allclose(low, samples.min(1)) and np.allclose(high, samples.max(1))  # exactly [min, max]
    coverage = float(np.mean((low <= 0) & (0 <= high)))
    assert not 0.93 <= coverage <= 0.97 and coverage < 0.8, coverage


def _stein(diffs: np.ndarray, delta: float, two_sided: bool, design: Design):
    """Stein's design over simulated paired differences (REPS x cap): each row's n from its pilot sd, the
    interval over its first n (pilot sd, pilot df), as suite_results.claims.compare computes it."""
    pilot = diffs[:, :design.pilot]
    s0 = pilot.std(1, ddof=1)
    needed = design.seeds_needed(s0, delta, two_sided)
    n = np.where(needed <= design.cap, needed, design.pilot)
    mask = np.arange(diffs.shape[1])[None, :] < n[:, None]
    mean = (diffs * mask).sum(1) / n
    a = design.alpha / 2 if two_sided else design.alpha
    half = scipy_stats.t.ppf(1 - a, design.pilot - 1) * s0 / np.sqrt(n)
    return mean, half, n


@pytest.mark.parametrize("sd", [0.3, 1.0, 3.0])  # the pilot stops, grows some, or grows to the cap
def test_steins_design_keeps_its_coverage_and_error_rate_whatever_n_the_pilot_chooses(sd):
    design, rng = Design(), np.random.default_rng(7)
    diffs = rng.normal(0.0, sd, size=(REPS, design.cap))  # the claim is false: no difference
    mean, half, n = _stein(diffs, delta=1.0, two_sided=True, design=design)
    coverage = float(np.mean(np.abs(mean) <= half))
    false_win = float(np.mean(mean - half > 0))  # "reproduced" for A although A = B
    assert 0.94 <= coverage <= 0.96, coverage
    assert false_win <= 0.025 + 0.003, false_win
    assert len(set(n.tolist())) > 1 or sd == 0.3  # the design did choose different n


def test_steins_design_settles_a_difference_of_delta_with_its_power():
    design, rng = Design(), np.random.default_rng(8)
    diffs = rng.normal(1.0, 0.4, size=(REPS, design.cap))  # A ahead by delta = 1, sd 0.4
    mean, half, n = _stein(diffs, delta=1.0, two_sided=True, design=design)
    grown = (n > design.pilot) & (n <= design.cap)
    assert grown.mean() > 0.3  # the pilot asked for more seeds this often
    needed = design.seeds_needed(diffs[:, :3].std(1, ddof=1), 1.0, True)
    settled = (mean - half > 0)[needed <= design.cap]
    assert settled.mean() >= 0.78, settled.mean()  # ~80% power where the design ran, by construction


def test_retesting_after_each_added_seed_without_a_design_inflates_the_error_rate():
    """The reason for a design: adding a seed and looking again, 3..10, at the nominal 5%."""
    rng = np.random.default_rng(9)
    diffs = rng.normal(0.0, 1.0, size=(REPS, 10))
    rejected = np.zeros(REPS, dtype=bool)
    for n in range(3, 11):
        x = diffs[:, :n]
        half = scipy_stats.t.ppf(0.975, n - 1) * x.std(1, ddof=1) / np.sqrt(n)
        rejected |= np.abs(x.mean(1)) > half
    assert rejected.mean() > 0.12  # more than twice the 5% it claims


def _rows(values, seeds):
    return [{"seed": s, "bleu": v} for s, v in zip(seeds, values)]


MARGIN = Margin(0.5, "BLEU")


def test_beats_has_three_outcomes():
    seeds = (1, 2, 3)
    b = _rows([20.0, 21.0, 22.0], seeds)
    win = beats("a", _rows([21.0, 22.1, 23.0], seeds), "b", b, "bleu", seeds, MARGIN)
    loss = beats("a", _rows([19.0, 19.9, 21.0], seeds), "b", b, "bleu", seeds, MARGIN)
    same = beats("a", _rows([20.01, 21.0, 21.99], seeds), "b", b, "bleu", seeds, MARGIN)
    unsure = beats("a", _rows([21.5, 20.5, 22.3], seeds), "b", b, "bleu", seeds, Margin(0.1, "BLEU"))
    assert (win["verdict"], win["detail"]) == ("reproduced", "a beats b")
    assert (loss["verdict"], loss["detail"]) == ("not reproduced", "b beats a")
    assert (same["verdict"], same["detail"]) == ("not reproduced", "no difference as large as 0.5 BLEU")
    assert unsure["verdict"] == "inconclusive" and "stopped at the 3-seed pilot" in unsure["detail"]
    assert unsure["seeds_needed"] > 10 and unsure["analysed_at"] == 3


def test_within_is_non_inferiority_on_the_90_percent_interval():
    seeds = (1, 2, 3)
    b = _rows([20.0, 21.0, 22.0], seeds)
    assert within("a", _rows([19.8, 20.8, 21.9], seeds), "b", b, "bleu", seeds, 1.0, MARGIN)["verdict"] == "reproduced"
    assert within("a", _rows([17.8, 18.9, 19.9], seeds), "b", b, "bleu", seeds, 1.0, MARGIN)["verdict"] == \
        "not reproduced"
    # the mean alone (-0.34) is within 0.5, but the interval is not: no longer "reproduced"
    noisy = within("a", _rows([20.6, 19.7, 21.7], seeds), "b", b, "bleu", seeds, 0.5, MARGIN)
    assert noisy["verdict"] == "inconclusive"


def test_the_design_asks_for_more_seeds_and_analyses_exactly_that_many():
    seeds = (1, 2, 3)
    b = [20.0, 21.0, 22.0, 20.5, 21.5, 20.0, 21.0, 22.0, 20.5, 21.5]
    a = [x + d for x, d in zip(b, [0.5, 0.8, 0.3, 0.6, 0.7, 0.4, 0.5, 0.6, 0.3, 0.8])]
    pilot = beats("a", _rows(a[:3], seeds), "b", _rows(b[:3], seeds), "bleu", seeds, MARGIN)
    assert pilot["verdict"] == "pending" and 3 < pilot["analysed_at"] <= 10
    n = pilot["analysed_at"]
    order = list(range(1, 11))
    done = beats("a", _rows(a, order), "b", _rows(b, order), "bleu", seeds, MARGIN)  # more seeds exist than asked
    assert done["n"] == n and done["verdict"] == "reproduced" and "Stein" in done["measured"]
    verdict = claim("a beats b", [pilot])
    assert verdict["verdict"] == "pending"
    assert to_run([verdict]) == [(c, None, s) for s in range(4, n + 1) for c in ("a", "b")]  # paired, seed by seed


def test_a_conjunction_takes_the_worst_verdict():
    ok = {"verdict": "reproduced", "detail": "", "measured": "m1", "rule": "r"}
    unsure = {"verdict": "inconclusive", "detail": "d", "measured": "m2", "rule": "r"}
    against = {"verdict": "not reproduced", "detail": "e", "measured": "m3", "rule": "r"}
    assert claim("c", [ok, unsure])["verdict"] == "inconclusive"
    assert claim("c", [ok, unsure, against])["verdict"] == "not reproduced"
    waiting = {"verdict": "pending", "detail": "", "measured": "m4", "rule": "r", "to_run": [["x", 0.1, 4]],
               "candidates": ["x", "y"], "analysed_at": 6}
    settled = claim("c", [against, waiting])
    assert settled["verdict"] == "not reproduced" and to_run([settled]) == []  # no seed spent on a settled claim
    assert claim("c", [ok, waiting])["verdict"] == "pending" and to_run([claim("c", [ok, waiting])]) == [("x", 0.1, 4)]
    assert claim("c", [ok, ok])["verdict"] == "reproduced" and claim("c", [])["verdict"] == "pending"


def test_t_interval_with_the_pilots_degrees_of_freedom():
    low, high = t_interval(1.0, 2.0, 9, 0.95, df=2)
    assert high - 1.0 == pytest.approx(4.302653 * 2.0 / 3.0, rel=1e-6)
    assert t_interval(1.0, 0.0, 1) == (None, None)


def test_equivalence_needs_the_whole_90_percent_interval_inside_the_margin():
    seeds = (1, 2, 3)
    b = _rows([20.0, 21.0, 22.0], seeds)
    assert equivalent("a", _rows([20.1, 20.9, 22.05], seeds), "b", b, "bleu", seeds, 0.5, MARGIN)["verdict"] == \
        "reproduced"
    assert equivalent("a", _rows([22.0, 23.1, 24.0], seeds), "b", b, "bleu", seeds, 0.5, MARGIN)["verdict"] == \
        "not reproduced"
    # the sanity row of bible-cpu before this rule: mean -0.34, one seed 1.34 apart: said "reproduced"
    sanity = equivalent("a", _rows([20.6, 19.7, 21.7], seeds), "b", b, "bleu", seeds, 0.5, MARGIN)
    assert sanity["verdict"] == "inconclusive" and "seeds would settle" in sanity["detail"]
