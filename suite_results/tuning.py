"""The tuning protocol of every benchmark, written once: a grid that reaches an interior optimum,
promotion to the full budget, and a choice that is interior *at the full budget*.

1. **Rung 1 (the grid).** Each candidate runs a log-spaced lr grid at the short budget. While the
   best value sits at the grid's edge, the grid is extended one step past that edge (factor ~3 on
   the 1-3-10 ladder: 3e-3 -> 1e-2 -> 3e-2), until the best value has a worse neighbour on both
   sides. A diverged run counts as worse than any finished one (it is recorded as diverged, with
   its last finite loss), so a best value beside a diverged one is interior.
2. **Rung 2 (promotion; successive halving, Jamieson & Talwalkar 2016, as in Hyperband).** The
   ``promote`` best lrs of the final grid run the full budget on the grid seed.
3. **Interior at the deciding budget.** The lr that wins a short budget need not win the full one
   (short-horizon bias, Wu et al. 2018), so a short-budget neighbour is no evidence at the full
   budget. The choice is the best full-budget lr; while one of its two neighbours (the next grid
   value on that side, or one ladder step past the grid's edge) has no full-budget run, that
   neighbour runs the full budget too (the one that did better in the grid first: one run at a
   time, each decided by the outcomes before it), and the best is taken again. The choice is final
   when both neighbours ran the full budget and are worse or diverged. A neighbour that ties the
   choice at the full budget (the smaller lr is kept) is not worse: the walk goes on past it, and
   the first value past the tie must be worse or diverged. A neighbour that diverged in
   the grid counts as diverged at the full budget too (the full run spends its first updates at
   the short run's lrs or larger).
4. The chosen lr then runs on every seed (the promoted run at that lr is the grid seed's).

The walk is a function of the runs' outcomes alone: it asks for one run after another, each
decided by the outcomes before it, and a row that exists but was not asked for (made under an
older rule) plays no part, so no choice depends on the order in which rows landed.

Scores are "lower is better" (validation loss, final critic loss, validation error). The protocol
never trains anything itself: :func:`tune` walks it as far as the known outcomes allow and lists
the runs it needs next, so a benchmark can train them, reuse checked-in rows, or only report.
A grid never grows past ``max_values`` values, nor the full budget past ``max_values`` runs: a
candidate that reaches the limit with its best still at an edge keeps the edge flag, and the
reason is in :attr:`Tuning.note`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

from .stats import grid_edge


# how every page states step 3 (nmt's and vision's tuning sections)
INTERIOR_RULE = ("The choice is the best full-budget lr, made interior at the full budget: while a neighbour of it "
                 "(the next grid value, or one ladder step past the grid's edge) has no full-budget run, that neighbour "
                 "runs the full budget (the better one in the grid first), until both neighbours are worse or diverged "
                 "there; a neighbour that ties the choice (the smaller lr is kept) is no worse one: the value past it "
                 "runs the full budget too.")


@dataclass(frozen=True)
class Outcome:
    """One run's result for the protocol: ``score`` (lower is better) or a divergence."""

    score: float | None  # None: the run diverged
    last_finite: float | None = None  # a diverged run's last finite loss, for the record

    @property
    def diverged(self) -> bool:
        return self.score is None or not math.isfinite(self.score)

    @classmethod
    def of(cls, score: float | None, last_finite: float | None = None) -> Outcome:
        """A finished run's score; a NaN/inf or None score is a divergence."""
        if score is None or not math.isfinite(score):
            return cls(None, last_finite)
        return cls(float(score))


@dataclass(frozen=True)
class Protocol:
    promote: int = 2  # lrs promoted to the full budget; 0: one rung only (the grid decides)
    max_values: int = 9  # the most lrs one grid may hold


@dataclass
class Tuning:
    """Where one candidate's tuning stands."""

    grid: dict  # lr -> Outcome at rung 1
    full: dict = field(default_factory=dict)  # lr -> Outcome at rung 2 (full budget, grid seed)
    needed: list = field(default_factory=list)  # [("grid" | "full", lr)] the protocol waits for
    chosen: float | None = None  # None until the protocol is done
    grid_best: float | None = None
    promoted: list = field(default_factory=list)
    note: str = ""
    open_side: str | None = None  # two rungs: the side of the choice with no full-budget neighbour (a limit)

    @property
    def complete(self) -> bool:
        return self.chosen is not None

    @property
    def edge(self) -> str | None:
        """'upper' / 'lower' when the choice is not interior at the budget that decided it (the
        grid's edge with one rung; a side with no full-budget neighbour with two), else None."""
        if self.chosen is None:
            return None
        return self.open_side if self.full else grid_edge(self.chosen, self.grid)

    @property
    def changed_between_rungs(self) -> bool:
        """True when the full budget chose another lr than the grid's best."""
        return bool(self.full) and self.chosen is not None and self.chosen != self.grid_best

    def as_dict(self) -> dict:
        def outcomes(table):
            return [{"lr": lr, "score": o.score, "diverged": o.diverged,
                     **({"last_finite": o.last_finite} if o.diverged else {})} for lr, o in sorted(table.items())]
        return {"grid": outcomes(self.grid), "full": outcomes(self.full), "grid_best": self.grid_best,
                "promoted": sorted(self.promoted), "chosen": self.chosen, "at_grid_edge": self.edge,
                "changed_between_rungs": self.changed_between_rungs, "complete": self.complete,
                "needed": [list(n) for n in self.needed], "note": self.note}


def step(lr: float, up: bool) -> float:
    """The next lr on the 1-3-10 ladder (3e-3 -> 1e-2, 1e-2 -> 3e-2; down: 3e-3 -> 1e-3); a value off
    the ladder moves by a factor 3 exactly (6.67e-5 -> 2e-4). Rounded to 12 significant digits so
    that the same lr is always the same float."""
    if lr <= 0 or not math.isfinite(lr):
        raise ValueError(f"an lr grid holds positive finite values, not {lr!r}")
    exponent = math.floor(math.log10(lr))
    mantissa = lr / 10 ** exponent
    if math.isclose(mantissa, 1.0, rel_tol=1e-6):
        new = 3 * 10 ** exponent if up else 3 * 10 ** (exponent - 1)
    elif math.isclose(mantissa, 3.0, rel_tol=1e-6):
        new = 10 ** (exponent + 1) if up else 10 ** exponent
    else:
        new = lr * 3 if up else lr / 3
    return float(f"{new:.12g}")


def best(table: dict) -> float | None:
    """The lr with the lowest score (ties: the smaller lr); None when every run diverged or none ran."""
    finite = [(o.score, lr) for lr, o in table.items() if not o.diverged]
    return min(finite)[1] if finite else None


def ranked(table: dict) -> list[float]:
    """The lrs of the finished (not diverged) runs, best first."""
    return [lr for _, lr in sorted((o.score, lr) for lr, o in table.items() if not o.diverged)]


def _outward(lr: float, grid) -> float | None:
    """The next value past the edge ``lr`` sits at, or None when it is interior."""
    edge = grid_edge(lr, grid)
    return None if edge is None else step(lr, up=edge == "upper")


def _fill(table: dict, lrs, rung: Callable, phase: str) -> list:
    """Put each lr's known Outcome into ``table``; the (phase, lr) of those not run yet."""
    needed = []
    for lr in lrs:
        if lr not in table:
            outcome = rung(lr)
            if outcome is None:
                needed.append((phase, lr))
            else:
                table[lr] = outcome
    return needed


def tune(initial: list[float], rung1: Callable[[float], Outcome | None],
         rung2: Callable[[float], Outcome | None] | None = None, protocol: Protocol = Protocol()) -> Tuning:
    """Walk the protocol for one candidate. ``rung1(lr)`` / ``rung2(lr)``: that run's Outcome, or None
    when it has not run (it is then listed in ``needed`` and the walk stops where it depends on it).
    Without ``rung2`` (or with ``protocol.promote`` 0) the grid's best is the choice."""
    if not initial:
        raise ValueError("an lr grid needs at least one value")
    lrs = sorted({float(v) for v in initial})
    grid: dict = {}
    full: dict = {}
    two_rungs = rung2 is not None and protocol.promote > 0
    limited = ""  # why the grid stopped growing with its best at the edge
    while True:
        needed = _fill(grid, lrs, rung1, "grid")
        if needed:
            return Tuning(grid, full, needed, grid_best=best(grid), note="waiting for grid runs")
        grid_best = best(grid)
        if grid_best is None:  # every value diverged: look below the smallest
            nxt, where = step(min(lrs), up=False), "every grid value diverged"
        else:
            nxt, where = _outward(grid_best, lrs), "the grid's best is at its edge"
        if nxt is not None and len(lrs) < protocol.max_values:
            lrs.append(nxt)
            lrs.sort()
            continue
        if nxt is not None:
            limited = f"{where}, and the grid holds {len(lrs)} values (the limit)"
        if not two_rungs:
            return Tuning(grid, full, [], chosen=grid_best, grid_best=grid_best,
                          note=limited or _interior_note(grid_best, lrs, grid))
        promoted = ranked(grid)[:protocol.promote]
        if not promoted:  # every grid value diverged (and the grid cannot grow): nothing to promote
            return Tuning(grid, full, [], grid_best=None, note=limited or "every grid value diverged")
        return _rung2(grid, full, promoted, lrs, rung2, grid_best, protocol, limited)


def neighbours(lr: float, grid) -> tuple[float, float]:
    """The values below and above ``lr``: the next grid value on each side, or one ladder step past
    the grid's edge."""
    values = sorted(grid)
    below = [v for v in values if v < lr]
    above = [v for v in values if v > lr]
    return (below[-1] if below else step(lr, up=False)), (above[0] if above else step(lr, up=True))


def _rung2(grid: dict, full: dict, promoted: list, lrs: list, rung2: Callable, grid_best: float,
           protocol: Protocol, limited: str) -> Tuning:
    """Rung 2 and the full-budget interior walk (module docstring, 2-3)."""
    asked = list(promoted)

    def worse_in_grid(lr):  # the order neighbours are tried in: better grid outcome first
        o = grid.get(lr)
        return (2, 0.0, lr) if o is None else (1, 0.0, lr) if o.diverged else (0, o.score, lr)

    while True:
        needed = _fill(full, asked, rung2, "full")
        if needed:
            return Tuning(grid, full, needed, grid_best=grid_best, promoted=sorted(promoted),
                          note="waiting for full-budget runs")
        chosen = best(full)
        if chosen is None:  # every full-budget run diverged: the next best of the grid
            rest = [lr for lr in ranked(grid) if lr not in full]
            if not rest or len(full) >= protocol.max_values:
                return Tuning(grid, full, [], grid_best=grid_best, promoted=sorted(promoted),
                              note="every run diverged at the full budget")
            asked.append(rest[0])
            continue
        open_sides = [n for n in _past_ties(chosen, lrs, full)
                      if n not in full and not (n in grid and grid[n].diverged)]
        if not open_sides:
            return Tuning(grid, full, [], chosen=chosen, grid_best=grid_best, promoted=sorted(promoted),
                          note=_interior_note(chosen, lrs, grid, full))
        if len(full) >= protocol.max_values:
            side = "upper" if open_sides[0] > chosen else "lower"
            return Tuning(grid, full, [], chosen=chosen, grid_best=grid_best, promoted=sorted(promoted),
                          open_side=side, note=limited or f"the full budget's best has no full-budget run on its "
                          f"{side} side and {len(full)} lrs ran the full budget (the limit)")
        asked.append(min(open_sides, key=worse_in_grid))


def _past_ties(lr: float, lrs, full: dict) -> tuple[float, float]:
    """The value below and above the full-budget choice ``lr`` that decides it is interior: its
    neighbour, or, where the neighbour tied it at the full budget (a plateau: ``best`` kept the
    smaller lr), the first value past the tied ones, which must be worse too."""
    out = []
    for side in (0, 1):
        other = neighbours(lr, lrs)[side]
        while other in full and not full[other].diverged and full[other].score == full[lr].score:
            other = neighbours(other, lrs)[side]
        out.append(other)
    return out[0], out[1]


def _interior_note(lr: float, lrs, grid: dict, full: dict | None = None) -> str:
    """Why ``lr`` is interior: each neighbour is worse (or diverged) at the full budget when the full
    budget chose (past any that tie it: :func:`_past_ties`), else in the grid."""
    if full is None and len(grid) < 2:
        return "a one-value grid"
    sides = []
    deciding = _past_ties(lr, lrs, full) if full is not None else _grid_neighbours(lr, grid)
    for other, side in zip(deciding, ("below", "above")):
        at_full = full is not None and other in full
        o, mine = (full[other], full[lr]) if at_full else (grid[other], grid[lr])
        if o.diverged:
            said = "diverged" + ("" if at_full or full is None else " in the grid")
        elif not mine.diverged and o.score == mine.score:
            said = "ties (the smaller lr kept)"  # best() keeps the smaller lr
        else:
            said = "is worse"
        ties = [f"{v:g}" for v in sorted(full or {}) if min(lr, other) < v < max(lr, other)]
        tied = f"{', '.join(ties)} {'ties' if len(ties) == 1 else 'tie'} it (the smaller lr kept), " if ties else ""
        sides.append(f"{tied}{other:g} {said}{' at the full budget' if at_full else ''} {side}")
    return "interior: " + ", ".join(sides)


def _grid_neighbours(lr: float, grid: dict) -> tuple[float, float]:
    values = sorted(grid)
    i = values.index(lr)
    return values[i - 1], values[i + 1]
