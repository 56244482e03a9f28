"""Verdicts on a paper's claims from paired runs (the same seed: the same initialisation and data
order), written once for every benchmark.

Every verdict is exactly one of **reproduced**, **not reproduced**, **inconclusive**, or **pending**
(runs missing); the reason is in ``detail``, never in the verdict. A comparison of A with B takes
the per-seed differences ``a - b`` (signed so that a positive value favours A) and a Student-t
interval of their mean:

* **"A beats B"**: reproduced when the 95% interval excludes 0 on A's side; not reproduced when it
  excludes 0 on B's side ("B beats A"), or when the 90% interval lies inside the benchmark's
  negligible margin ±m (equivalence, TOST: "no difference as large as m"); otherwise inconclusive.
* **"A within m of B"** (non-inferiority, TOST's one side at 5%): reproduced when the 90% interval
  lies entirely above -m, not reproduced when entirely below -m, otherwise inconclusive.
* **"A beats B by at least m"**: the same shape around +m.
* **"A and B within m of each other"** (equivalence, TOST): reproduced when the 90% interval lies
  inside ±m, not reproduced when it lies entirely outside, otherwise inconclusive.

**Seeds until settled: Stein's two-stage procedure** (Stein 1945). The first ``Design.pilot`` seeds
both candidates ran (3) are the pilot; their standard deviation s0 alone fixes how many seeds the
comparison is analysed at:

    n = ceil(((t(1 - a, n0 - 1) + z(power)) * s0 / delta) ** 2),  at least n0

with a = alpha / 2 for "beats" (two-sided) and alpha for the one-sided rules, power 0.8, and delta
the claim's own margin (within m, by m) or, for "beats", the benchmark's negligible margin: the
seeds that settle a difference as large as delta with 80% power. When n exceeds ``Design.cap``
(10), even the cap could not settle the claim, so no seed is spent: the comparison is analysed at
the pilot, and the page says how many seeds would settle it. Otherwise it is analysed at exactly n
seeds (the first n of the benchmark's seed order), whatever other claims ran, with Stein's interval

    mean of the n differences ± t(1 - a, n0 - 1) * s0 / sqrt(n)

which keeps its stated coverage for any n chosen from s0 (for normal differences the mean of the
n is independent of s0), so looking at the pilot to choose n costs no error rate; at n = n0 it is
the ordinary t interval. tests/test_stats.py measures both by simulation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .stats import normal_quantile, spread, t_interval, t_quantile

VERDICTS = ("pending", "not reproduced", "inconclusive", "reproduced")  # a conjunction takes the worst
KINDS = ("beats", "within", "beats by", "equivalent")
ALPHA = 0.05


@dataclass(frozen=True)
class Design:
    """Stein's two-stage procedure (module docstring): ``pilot`` seeds, then at most ``cap``."""

    pilot: int = 3
    cap: int = 10
    power: float = 0.8
    alpha: float = ALPHA

    def seeds_needed(self, s0, delta: float, two_sided: bool):
        """Seeds that settle a difference as large as ``delta`` with ``power`` (n0 at least); ``s0``
        may be an array (the simulations in the tests)."""
        a = self.alpha / 2 if two_sided else self.alpha
        factor = (t_quantile(1 - a, self.pilot - 1) + normal_quantile(self.power)) / delta
        n = np.maximum(self.pilot, np.ceil((factor * np.asarray(s0, dtype=float)) ** 2))
        return int(n) if n.ndim == 0 else n.astype(int)

    def analysed_at(self, needed: int) -> int:
        """The seeds a comparison is analysed at: ``needed`` up to the cap, else the pilot (stop)."""
        return needed if needed <= self.cap else self.pilot

    def seed_order(self, seeds) -> list:
        """The benchmark's seeds, then the next integers up to the cap: the order seeds are added in."""
        seeds = list(seeds)
        return seeds + list(range(max(seeds) + 1, max(seeds) + 1 + max(0, self.cap - len(seeds))))


@dataclass(frozen=True)
class Margin:
    """A benchmark's negligible difference: ``value`` in ``unit`` (e.g. 0.5 BLEU), with the reason."""

    value: float
    unit: str
    why: str = ""


def paired(a_rows: list[dict], b_rows: list[dict], key: str) -> dict | None:
    """spread() (a Student-t interval) of ``a[key] - b[key]`` over every seed both have, for a page's
    descriptive table; None without a common seed. Verdicts use :func:`compare`, not this."""
    theirs = {r["seed"]: r[key] for r in b_rows}
    diffs = [r[key] - theirs[r["seed"]] for r in a_rows if r["seed"] in theirs]
    return spread(diffs) if diffs else None


def _differences(a_rows: list, b_rows: list, key: str, order: list, sign: int) -> list:
    """(seed, sign * (a - b)) for the seeds both ran, in ``order``."""
    a = {r["seed"]: r[key] for r in a_rows}
    b = {r["seed"]: r[key] for r in b_rows}
    return [(s, sign * (a[s] - b[s])) for s in order if s in a and s in b]


def compare(kind: str, a: str, a_rows: list, b: str, b_rows: list, key: str, seeds, margin: Margin,
            higher_is_better: bool = True, by: float = 0.0, win: str = "beats", design: Design = Design()) -> dict:
    """One comparison of ``a`` with ``b`` on ``key`` (module docstring). ``kind``: "beats", "within"
    (``by`` is then the margin m) or "beats by" (at least ``by``). ``seeds``: the benchmark's seeds
    (the pilot is their first ``design.pilot``). Returns {'verdict', 'detail', 'measured', 'rule', 'n',
    'alpha', 'seeds_needed', 'analysed_at', 'candidates', ...}."""
    if kind not in KINDS:
        raise ValueError(f"unknown comparison kind {kind!r}")
    design = replace(design, pilot=len(tuple(seeds)))  # the benchmark's own seeds are the pilot
    order = design.seed_order(seeds)
    sign = 1 if higher_is_better else -1
    unit = f" {margin.unit}" if margin.unit else ""
    two_sided = kind == "beats"
    delta = margin.value if kind == "beats" else by
    rule = _rule(kind, a, b, by, margin, design)
    base = {"candidates": [a, b], "kind": kind, "rule": rule, "alpha": design.alpha, "key": key}
    diffs = _differences(a_rows, b_rows, key, order, sign)
    ran = {a: {r["seed"] for r in a_rows}, b: {r["seed"] for r in b_rows}}
    lrs = {a: a_rows[0].get("lr") if a_rows else None, b: b_rows[0].get("lr") if b_rows else None}
    pilot = [d for s, d in diffs if s in order[:design.pilot]]
    if len(pilot) < design.pilot:
        return {**base, "verdict": "pending", "detail": "", "n": len(diffs), "seeds_needed": design.pilot,
                "analysed_at": design.pilot,
                "measured": f"{a} - {b}: {len(pilot)} of the {design.pilot} pilot seeds"}
    s0 = float(np.std(pilot, ddof=1))
    needed = design.seeds_needed(s0, delta, two_sided) if delta > 0 else design.pilot
    n = design.analysed_at(needed)
    used = [d for s, d in diffs if s in order[:n]]
    if len(used) < n:
        missing = [s for s in order[:n] if s not in {s for s, _ in diffs}]
        to_run = [[c, lrs[c], s] for c in (a, b) for s in order[:n] if s not in ran[c]]
        return {**base, "verdict": "pending", "detail": f"Stein's design asks for {n} seeds (pilot sd {s0:.3g})",
                "n": len(used), "seeds_needed": needed, "analysed_at": n, "to_run": to_run,
                "measured": f"{a} - {b}: {len(used)} of {n} seeds (seeds {', '.join(map(str, missing))} to run)"}
    mean = float(np.mean(used))
    df = design.pilot - 1
    lo95, hi95 = t_interval(mean, s0, n, 1 - design.alpha, df)
    lo90, hi90 = t_interval(mean, s0, n, 1 - 2 * design.alpha, df)
    verdict, detail = _judge(kind, a, b, win, lo95, hi95, lo90, hi90, by, margin)
    if verdict == "inconclusive" and needed > design.cap:
        detail = (f"{detail}; stopped at the {design.pilot}-seed pilot: {needed} seeds would settle a difference "
                  f"of {delta:g}{unit} with {design.power:.0%} power (the cap is {design.cap})")
    elif verdict == "inconclusive":
        gap = _gap(kind, mean, by)
        observed = design.seeds_needed(s0, gap, two_sided) if gap > 0 else None
        detail = (f"{detail}; at the {n} seeds Stein's design asked for (enough for a difference of {delta:g}{unit}); "
                  + (f"the observed mean lies {gap:.3g}{unit} from the decision boundary: {observed} seeds would "
                     f"settle that with {design.power:.0%} power" if observed else "the observed mean sits on the "
                     "decision boundary"))
    shown = (lo95, hi95) if kind == "beats" else (lo90, hi90)
    level = "95%" if kind == "beats" else "90%"
    measured = (f"{a} - {b} per seed: {sign * mean:+.4g} [{_signed(shown, sign)}]{unit} ({level}, {n} seeds"
                + (f", Stein's interval: pilot sd, {df} df" if n > design.pilot else ", t, " + f"{df} df") + ")")
    return {**base, "verdict": verdict, "detail": detail, "measured": measured, "n": n, "mean": sign * mean,
            "interval95": sorted([sign * lo95, sign * hi95]), "interval90": sorted([sign * lo90, sign * hi90]),
            "pilot_sd": s0, "seeds_needed": needed, "analysed_at": n}


def _gap(kind: str, mean: float, by: float) -> float:
    """How far the observed mean difference lies from the boundary that would decide the claim."""
    if kind == "beats":
        return abs(mean)
    if kind == "equivalent":
        return by - abs(mean)
    return abs(mean - (-by if kind == "within" else by))


def _signed(interval, sign) -> str:
    low, high = sorted(sign * v for v in interval)
    return f"{low:+.4g}, {high:+.4g}"


def _judge(kind, a, b, win, lo95, hi95, lo90, hi90, by, margin):
    m, unit = margin.value, f" {margin.unit}" if margin.unit else ""
    if kind == "beats":
        if lo95 > 0:
            return "reproduced", f"{a} {win} {b}"
        if hi95 < 0:
            return "not reproduced", f"{b} {win} {a}"
        if -m < lo90 and hi90 < m:
            return "not reproduced", f"no difference as large as {m:g}{unit}"
        return "inconclusive", f"neither a difference nor its absence (margin {m:g}{unit}) is shown"
    if kind == "equivalent":
        if -by < lo90 and hi90 < by:
            return "reproduced", f"{a} and {b} differ by less than {by:g}{unit}"
        if lo90 > by or hi90 < -by:
            return "not reproduced", f"{a} and {b} differ by more than {by:g}{unit}"
        return "inconclusive", f"the 90% interval crosses ±{by:g}{unit}"
    bound = -by if kind == "within" else by
    if lo90 > bound:
        return "reproduced", (f"{a} is no more than {by:g}{unit} behind {b}" if kind == "within"
                              else f"{a} ahead of {b} by more than {by:g}{unit}")
    if hi90 < bound:
        return "not reproduced", (f"{a} is more than {by:g}{unit} behind {b}" if kind == "within"
                                  else f"{a} ahead of {b} by less than {by:g}{unit}")
    return "inconclusive", f"the 90% interval straddles {bound:+g}{unit}"


def _rule(kind, a, b, by, margin, design) -> str:
    m, unit = margin.value, f" {margin.unit}" if margin.unit else ""
    if kind == "beats":
        return (f"{a} beats {b}: 95% interval above 0: reproduced; below 0, or 90% interval inside ±{m:g}{unit}: "
                f"not reproduced; else inconclusive")
    if kind == "within":
        return (f"{a} within {by:g}{unit} of {b}: 90% interval above -{by:g}{unit}: reproduced; below: not "
                f"reproduced; else inconclusive")
    if kind == "equivalent":
        return (f"{a} and {b} within {by:g}{unit} either way: 90% interval inside ±{by:g}{unit}: reproduced; "
                f"outside: not reproduced; else inconclusive")
    return (f"{a} beats {b} by at least {by:g}{unit}: 90% interval above +{by:g}{unit}: reproduced; below: not "
            f"reproduced; else inconclusive")


def beats(a, a_rows, b, b_rows, key, seeds, margin: Margin, higher_is_better=True, win="beats",
          design: Design = Design()) -> dict:
    """"a beats b" on ``key`` (see :func:`compare`)."""
    return compare("beats", a, a_rows, b, b_rows, key, seeds, margin, higher_is_better, win=win, design=design)


def within(a, a_rows, b, b_rows, key, seeds, by: float, margin: Margin, higher_is_better=True,
           design: Design = Design()) -> dict:
    """"a within ``by`` of b" on ``key``."""
    return compare("within", a, a_rows, b, b_rows, key, seeds, margin, higher_is_better, by=by, design=design)


def beats_by(a, a_rows, b, b_rows, key, seeds, by: float, margin: Margin, higher_is_better=True,
             design: Design = Design()) -> dict:
    """"a beats b by at least ``by``" on ``key``."""
    return compare("beats by", a, a_rows, b, b_rows, key, seeds, margin, higher_is_better, by=by, design=design)


def equivalent(a, a_rows, b, b_rows, key, seeds, by: float, margin: Margin, higher_is_better=True,
               design: Design = Design()) -> dict:
    """"a and b within ``by`` of each other" on ``key`` (equivalence)."""
    return compare("equivalent", a, a_rows, b, b_rows, key, seeds, margin, higher_is_better, by=by, design=design)


def pending(why: str) -> dict:
    """A comparison that cannot be made yet (tuning under way)."""
    return {"verdict": "pending", "detail": "", "measured": why, "rule": "", "n": 0, "candidates": []}


def claim(text: str, comparisons: list[dict], why: str = "") -> dict:
    """One claim from its comparisons (a conjunction): not reproduced as soon as one comparison is
    (the others cannot change that, so their designs' extra seeds are not run), else the worst of
    pending, inconclusive, reproduced; each comparison's detail, measurement and rule, the seeds each
    was analysed at, and ``why`` (the evidence when it is not reproduced or inconclusive)."""
    if not comparisons:
        comparisons = [pending("no runs")]
    if any(c["verdict"] == "not reproduced" for c in comparisons):
        comparisons = [{**c, "to_run": [], "measured": f"{' - '.join(c['candidates'])}: not analysed, the claim is "
                        f"settled without it (its design asked for {c['analysed_at']} seeds)"}
                       if c["verdict"] == "pending" and c.get("to_run") else c for c in comparisons]
        verdict = "not reproduced"
    else:
        verdict = min((c["verdict"] for c in comparisons), key=VERDICTS.index)
    deciding = [c for c in comparisons if c["verdict"] == verdict]
    rules = list(dict.fromkeys(c["rule"] for c in comparisons if c.get("rule")))
    return {"claim": text, "verdict": verdict,
            "detail": "; ".join(c["detail"] for c in deciding if c.get("detail")),
            "measured": "; ".join(c["measured"] for c in comparisons),
            "rule": " | ".join(rules), "n": [c.get("n", 0) for c in comparisons],
            "comparisons": comparisons,
            "why": why if verdict in ("not reproduced", "inconclusive") else ""}


def to_run(verdicts: list[dict]) -> list[tuple]:
    """(candidate, lr, seed) of every run a design asked for that is missing, over all claims, once
    each: a benchmark's sweep makes these after its protocol's own runs. The comparison that needs the
    fewest seeds first (it settles soonest), and within it seed by seed, both candidates of a seed
    together, so a sweep cut short leaves pairs, not one candidate's seeds alone."""
    wanted = []
    for v in verdicts:
        for c in v.get("comparisons", []):
            for candidate, lr, seed in c.get("to_run", []):
                wanted.append((c.get("analysed_at", 0), seed, candidate, lr))
    out = []
    for _, seed, candidate, lr in sorted(wanted, key=lambda w: (w[0], w[1], w[2])):
        if (candidate, lr, seed) not in out:
            out.append((candidate, lr, seed))
    return out


def verdict_section(doc, verdicts: list[dict], margin: Margin | None = None, heading: str = "Verdicts"):
    """The verdict table of a page, then how each verdict was decided (rule, alpha, seeds): written once
    for every benchmark's page."""
    doc.heading(heading, 2).table(
        ["claim", "verdict", "detail", "measured (mean difference [interval], seeds)", "why, or the caveat"],
        [[v["claim"], v["verdict"], v.get("detail", ""), v["measured"], v.get("why", "")] for v in verdicts])
    ruled = [v for v in verdicts if v.get("rule")]
    if ruled:
        unit = f" {margin.unit}" if margin and margin.unit else ""
        note = f" The benchmark's negligible margin m: {margin.value:g}{unit} ({margin.why})." if margin else ""
        d = Design()
        doc.text("How each verdict is decided (suite_results.claims): the paired per-seed differences (the same "
                 "seed: the same initialisation and data order), a Student-t interval of their mean (95% for "
                 "'beats', 90% for the one-sided and equivalence rules, alpha 0.05), seeds added only by Stein's "
                 "two-stage design: the benchmark's seeds are the pilot, whose sd alone fixes the seeds analysed "
                 f"(enough for {d.power:.0%} power at the margin; none added when more than {d.cap} would be "
                 f"needed), with the pilot's degrees of freedom in the interval.{note}").table(
            ["claim", "rule", "alpha", "seeds analysed"],
            [[v["claim"], v["rule"], f"{(v.get('comparisons') or [{}])[0].get('alpha', ALPHA):g}",
              ", ".join(str(n) for n in v.get("n", []))] for v in ruled])
    return doc
