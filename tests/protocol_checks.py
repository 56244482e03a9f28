"""What a finished two-rung tuning must satisfy, checked from its recorded dict alone (the summary's
``tuning`` entry), independently of suite_results.tuning's walk: the promoted lrs ran the full
budget, the choice is the best full-budget lr, and each of its two neighbours ran the full budget
and did worse (or diverged there, or in the grid), unless the run limit is named as the reason."""

from __future__ import annotations

import math


def ladder(lr: float, up: bool) -> float:
    """One step on the 1-3-10 ladder (an independent restatement: 3e-3 -> 1e-2 -> 3e-2)."""
    exponent = math.floor(math.log10(lr) + 1e-9)
    mantissa = round(lr / 10 ** exponent, 6)
    table = {1.0: (3.0 * 10 ** (exponent - 1), 3.0 * 10 ** exponent), 3.0: (10.0 ** exponent, 10.0 ** (exponent + 1))}
    down_to, up_to = table.get(mantissa, (lr / 3, lr * 3))
    return float(f"{(up_to if up else down_to):.12g}")


def assert_interior_at_full_budget(t: dict) -> None:
    full = {f["lr"]: f for f in t["full"]}
    grid = {g["lr"]: g for g in t["grid"]}
    assert t["complete"] and set(t["promoted"]) <= set(full), t
    finished = [(f["score"], lr) for lr, f in full.items() if not f["diverged"]]
    assert t["chosen"] == min(finished)[1], t  # the best full-budget lr (ties: the smaller)
    if t["at_grid_edge"] is not None:  # a side left open: only the full-budget run limit may say so
        assert "limit" in t["note"], t
        return
    chosen = full[t["chosen"]]["score"]
    lrs = sorted(grid)
    below = [lr for lr in lrs if lr < t["chosen"]]
    above = [lr for lr in lrs if lr > t["chosen"]]
    for n in (below[-1] if below else ladder(t["chosen"], up=False), above[0] if above else ladder(t["chosen"], up=True)):
        if n in grid and grid[n]["diverged"]:
            continue
        assert n in full, f"neighbour {n} of the choice {t['chosen']} never ran the full budget: {t}"
        assert full[n]["diverged"] or full[n]["score"] >= chosen, t
