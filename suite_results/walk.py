"""A whole benchmark's protocol state, for benchmarks with two rungs (NMT, vision): each tuned
candidate through :func:`suite_results.tuning.tune` (grid rows at the short budget on the grid seed,
promoted rows at the full budget on the grid seed), then the chosen (or fixed) lr on every seed.

Rows are looked up by ``lookup(candidate, phase, lr, seed)`` (phase "tune" or "full"; None when the
row does not exist); nothing is trained here: :attr:`State.needed` lists the rows to make next,
most useful first (every grid, then every candidate's first full seed, then the second, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .claims import Design
from .tuning import Outcome, Protocol, tune


@dataclass
class State:
    """Where the whole benchmark stands: per candidate its tuning (tuned ones), its lr and full rows,
    and the runs the protocol needs next, most useful first."""

    tunings: dict = field(default_factory=dict)
    grid_rows: dict = field(default_factory=dict)  # candidate -> {lr: row} at the grid budget
    promoted_rows: dict = field(default_factory=dict)  # candidate -> {lr: row} full budget, grid seed
    chosen: dict = field(default_factory=dict)  # candidate -> lr (None until decided)
    full: dict = field(default_factory=dict)  # candidate -> rows at the chosen lr, by seed
    needed: list = field(default_factory=list)  # (priority, candidate, phase, lr, seed)
    provisional: dict = field(default_factory=dict)  # candidate -> the lr shown while its tuning is incomplete


def walk(candidates: list[str], grids: dict, fixed_lr: dict, seeds, grid_seed: int, lookup: Callable,
         outcome: Callable[[dict | None], Outcome | None], protocol: Protocol = Protocol()) -> State:
    """The protocol over ``candidates`` as far as the rows allow. ``grids[c]``: the lr grid a tuned
    candidate starts from (empty: untuned, at ``fixed_lr[c]``); ``outcome(row)``: a row's score."""
    state = State()
    for c in candidates:
        if c in fixed_lr or not grids.get(c):
            state.chosen[c] = fixed_lr.get(c)
        else:
            grid_rows, promoted_rows = state.grid_rows.setdefault(c, {}), state.promoted_rows.setdefault(c, {})

            def rung(phase, rows, c=c):
                def score(lr):
                    row = lookup(c, phase, lr, grid_seed)
                    if row is not None:
                        rows[lr] = row
                    return outcome(row)
                return score
            t = tune(grids[c], rung("tune", grid_rows), rung("full", promoted_rows), protocol)
            state.tunings[c] = t
            state.needed += [(0 if phase == "grid" else 1, c, "tune" if phase == "grid" else "full", lr, grid_seed)
                             for phase, lr in t.needed]
            state.chosen[c] = t.chosen
        lr = state.chosen[c]
        if lr is None:  # tuning under way: show the lr with the most full runs so far, marked provisional
            tried = {lr: [r for r in (lookup(c, "full", lr, s) for s in seeds) if r is not None]
                     for lr in state.tunings[c].grid}
            tried = {lr: rows for lr, rows in tried.items() if rows}
            if tried:
                lr = max(tried, key=lambda v: (len(tried[v]), -v))
                state.full[c], state.provisional[c] = tried[lr], lr
            continue
        rows = state.full.setdefault(c, [])
        for priority, seed in enumerate(seeds, start=1):
            row = lookup(c, "full", lr, seed)
            if row is None:
                state.needed.append((priority, c, "full", lr, seed))
            else:
                rows.append(row)
        # seeds past the benchmark's, which only Stein's design asks for (suite_results.claims): shown
        # when they exist; each claim analyses exactly the seeds its own design chose
        rows += [r for r in (lookup(c, "full", lr, s) for s in Design().seed_order(seeds)[len(seeds):]) if r is not None]
    state.needed.sort(key=lambda n: n[0])  # stable: candidates keep their order within a priority
    return state
