"""The shared tuning protocol (suite_results.tuning) with fake scorers: no training."""

from __future__ import annotations

import math

import pytest

from suite_results.tuning import Outcome, Protocol, best, step, tune


def scorer(curve, ran=None, diverge_above=math.inf):
    """A fake rung: the score of lr is ``curve(lr)``; lrs above ``diverge_above`` diverge. ``ran``
    records the lrs asked for."""
    def score(lr):
        if ran is not None:
            ran.append(lr)
        if lr > diverge_above:
            return Outcome(None, last_finite=12.5)
        return Outcome.of(curve(lr))
    return score


def bowl(optimum):
    return lambda lr: (math.log10(lr) - math.log10(optimum)) ** 2


def test_the_ladder_steps_by_about_three_and_lands_on_round_values():
    assert step(3e-3, up=True) == 1e-2 and step(1e-2, up=True) == 3e-2 and step(0.3, up=True) == 1.0
    assert step(3e-4, up=False) == 1e-4 and step(1e-3, up=False) == 3e-4
    assert step(6e-4, up=True) == pytest.approx(1.8e-3) and step(2e-4, up=False) == pytest.approx(6.6667e-5, rel=1e-4)
    with pytest.raises(ValueError, match="positive"):
        step(0.0, up=True)


def test_the_grid_extends_past_its_upper_edge_until_the_best_is_interior():
    ran = []
    t = tune([3e-4, 1e-3, 3e-3], scorer(bowl(3e-2), ran))
    assert sorted(t.grid) == [3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
    assert t.chosen == 3e-2 and t.edge is None and "interior" in t.note
    assert len(ran) == len(set(ran))  # no lr scored twice


def test_the_grid_extends_past_its_lower_edge_too():
    t = tune([3e-3, 1e-2, 3e-2], scorer(bowl(1e-3)))
    assert sorted(t.grid) == [3e-4, 1e-3, 3e-3, 1e-2, 3e-2] and t.chosen == 1e-3 and t.edge is None


def test_a_diverged_run_counts_as_worse_and_stops_the_extension():
    t = tune([3e-4, 1e-3, 3e-3], scorer(lambda lr: -lr, diverge_above=5e-3))  # larger is better until it diverges
    assert sorted(t.grid) == [3e-4, 1e-3, 3e-3, 1e-2]
    assert t.grid[1e-2].diverged and t.grid[1e-2].last_finite == 12.5
    assert t.chosen == 3e-3 and t.edge is None and "0.01 diverged above" in t.note
    assert Outcome.of(float("nan")).diverged and Outcome.of(float("inf")).diverged and not Outcome.of(1.0).diverged


def test_every_value_diverging_looks_below_the_smallest():
    t = tune([1e-2, 3e-2], scorer(bowl(1e-3), diverge_above=2e-3))
    assert sorted(t.grid) == [3e-4, 1e-3, 3e-3, 1e-2, 3e-2] and t.chosen == 1e-3 and t.edge is None


def test_the_grid_stops_at_its_limit_and_keeps_the_edge_flag():
    t = tune([1e-3, 3e-3], scorer(lambda lr: -lr), protocol=Protocol(promote=0, max_values=4))
    assert len(t.grid) == 4 and t.chosen == max(t.grid) and t.edge == "upper" and "limit" in t.note


def test_promotion_takes_the_two_best_of_the_grid_and_the_full_budget_decides():
    # short budget prefers 1e-3 (then 3e-3); the full budget prefers 3e-3: the choice changes
    grid = {3e-4: 3.0, 1e-3: 1.0, 3e-3: 2.0, 1e-2: 5.0}
    full = {1e-3: 0.9, 3e-3: 0.5, 1e-2: 0.8}
    asked = []
    t = tune(list(grid), lambda lr: Outcome.of(grid[lr]), scorer(lambda lr: full[lr], asked))
    assert asked == [1e-3, 3e-3, 1e-2] and t.promoted == [1e-3, 3e-3]
    assert t.grid_best == 1e-3 and t.chosen == 3e-3 and t.changed_between_rungs and t.edge is None


def test_the_choice_is_interior_at_the_full_budget_not_only_in_the_grid():
    # the full budget prefers the larger of the two promoted: its upper neighbour runs the full budget too
    grid = {3e-4: 3.0, 1e-3: 1.0, 3e-3: 2.0, 1e-2: 4.0}
    full = {1e-3: 0.9, 3e-3: 0.5, 1e-2: 0.7}
    asked = []
    t = tune([3e-4, 1e-3, 3e-3], lambda lr: Outcome.of(grid[lr]), scorer(lambda lr: full[lr], asked))
    assert asked == [1e-3, 3e-3, 1e-2] and t.chosen == 3e-3 and t.edge is None
    assert t.note == "interior: 0.001 is worse at the full budget below, 0.01 is worse at the full budget above"


def test_the_full_budget_walks_past_the_grid_edge_when_its_optimum_lies_there():
    grid = {3e-4: 3.0, 1e-3: 1.0, 3e-3: 2.0}  # the grid's best 1e-3 is interior; the runner-up 3e-3 is its edge
    full = {1e-3: 0.9, 3e-3: 0.5, 1e-2: 0.4, 3e-2: 0.6}
    asked = []
    t = tune([3e-4, 1e-3, 3e-3], lambda lr: Outcome.of(grid[lr]), scorer(lambda lr: full[lr], asked))
    assert asked == [1e-3, 3e-3, 1e-2, 3e-2]  # one ladder step past the grid's edge at a time
    assert sorted(t.grid) == [3e-4, 1e-3, 3e-3] and t.chosen == 1e-2 and t.edge is None


def test_a_neighbour_that_diverged_in_the_grid_closes_its_side():
    grid = {1e-3: 2.0, 3e-3: 1.0, 1e-2: 1.5, 3e-2: None}
    full = {3e-3: 0.8, 1e-2: 0.5}
    asked = []
    t = tune(list(grid), lambda lr: Outcome.of(grid[lr]), scorer(lambda lr: full[lr], asked))
    assert asked == [3e-3, 1e-2] and t.chosen == 1e-2 and t.edge is None
    assert t.note == "interior: 0.003 is worse at the full budget below, 0.03 diverged in the grid above"


def test_the_better_grid_neighbour_runs_first_and_the_walk_stops_as_soon_as_it_can():
    # promoted 1e-2 and 1e-1 (the grid's two best); at the full budget 1e-2 wins; of its neighbours 3e-2
    # did better in the grid than 3e-3, so it runs first, wins, and is then interior: 3e-3 never runs
    grid = {3e-3: 11.6, 1e-2: 11.0, 3e-2: 11.2, 1e-1: 11.1, 3e-1: 12.1}
    full = {1e-2: 7.24, 3e-2: 7.02, 1e-1: 7.58}
    asked = []
    t = tune(list(grid), lambda lr: Outcome.of(grid[lr]), scorer(lambda lr: full[lr], asked))
    assert asked == [1e-2, 1e-1, 3e-2] and t.chosen == 3e-2 and t.edge is None


def test_the_choice_depends_on_the_outcomes_not_on_which_other_rows_exist():
    # a full-budget row nobody asked for (an older rule made it) plays no part
    grid = {1e-3: 2.0, 3e-3: 1.0, 1e-2: 1.5}
    full = {1e-3: 0.9, 3e-3: 0.5, 1e-2: 0.6}
    with_extra = tune(list(grid), lambda lr: Outcome.of(grid[lr]), lambda lr: Outcome.of(full[lr]))
    full[3e-2] = 0.1  # exists, but 3e-2 is nobody's neighbour
    assert tune(list(grid), lambda lr: Outcome.of(grid[lr]), lambda lr: Outcome.of(full[lr])).as_dict() == \
        with_extra.as_dict()


def test_the_full_budget_walk_stops_at_the_limit_with_the_edge_flag():
    grid = {1e-3: 2.0, 3e-3: 1.0, 1e-2: 1.5}
    t = tune(list(grid), lambda lr: Outcome.of(grid[lr]), lambda lr: Outcome.of(-lr),  # larger always better
             Protocol(promote=2, max_values=4))
    assert len(t.full) == 4 and t.chosen == max(t.full) and t.edge == "upper" and "limit" in t.note


def test_missing_runs_are_listed_and_the_walk_stops_where_it_depends_on_them():
    known = {3e-4: 3.0, 1e-3: 2.0}
    t = tune([3e-4, 1e-3, 3e-3], lambda lr: Outcome.of(known[lr]) if lr in known else None,
             lambda lr: None)
    assert t.needed == [("grid", 3e-3)] and not t.complete and t.chosen is None
    known[3e-3] = 2.5
    t = tune([3e-4, 1e-3, 3e-3], lambda lr: Outcome.of(known[lr]) if lr in known else None, lambda lr: None)
    assert t.needed == [("full", 1e-3), ("full", 3e-3)] and t.promoted == [1e-3, 3e-3]
    assert t.as_dict()["needed"] == [["full", 1e-3], ["full", 3e-3]]
    t = tune([3e-4, 1e-3, 3e-3], lambda lr: Outcome.of(known[lr]) if lr in known else None,
             lambda lr: Outcome.of({1e-3: 1.0, 3e-3: 0.5}[lr]) if lr in (1e-3, 3e-3) else None)
    assert t.needed == [("full", 1e-2)] and not t.complete  # the full budget's best needs its upper neighbour


def test_best_breaks_ties_towards_the_smaller_lr_and_ignores_divergence():
    assert best({1e-3: Outcome.of(1.0), 3e-3: Outcome.of(1.0), 1e-2: Outcome(None)}) == 1e-3
    assert best({1e-2: Outcome(None)}) is None


def test_a_tie_with_the_larger_neighbour_is_reported_as_a_tie_not_as_worse():
    scores = {3e-4: 19.0, 1e-3: 13.7, 3e-3: 11.6, 1e-2: 11.1, 3e-2: 11.1, 1e-1: 12.0}
    t = tune([3e-4, 1e-3, 3e-3], lambda lr: Outcome.of(scores[lr]), protocol=Protocol(promote=0))
    assert t.chosen == 1e-2  # the smaller of the tied lrs
    assert t.note == "interior: 0.003 is worse below, 0.03 ties (the smaller lr kept) above"


def test_the_interior_note_compares_at_the_rung_that_chose():
    # rung 1 prefers 0.3, the full budget 1; 3 (its upper neighbour) is worse there too
    grid = {0.03: 13.9, 0.1: 11.9, 0.3: 11.5, 1.0: 11.7, 3.0: 12.4}
    full = {0.3: 7.66, 1.0: 7.60, 3.0: 8.46}
    t = tune([0.03, 0.1, 0.3], lambda lr: Outcome.of(grid[lr]), lambda lr: Outcome.of(full[lr]))
    assert t.chosen == 1.0 and t.changed_between_rungs and t.edge is None
    assert t.note == "interior: 0.3 is worse at the full budget below, 3 is worse at the full budget above"


def test_a_full_budget_neighbour_that_ties_the_choice_is_no_worse_neighbour_the_walk_goes_past_it():
    # fmnist-resnet's AdamAL: 0.03 and 0.1 tie at the full budget (92.54% valid each); 0.1 is the
    # grid's top, so the value past the plateau is one ladder step up
    grid = {3e-4: 19.1, 1e-3: 13.84, 3e-3: 12.04, 1e-2: 11.0, 3e-2: 10.6, 1e-1: 11.52}
    full = {1e-2: 7.64, 3e-2: 7.46, 1e-1: 7.46}
    ran = []

    def rung2(lr):
        ran.append(lr)
        return Outcome.of(full[lr]) if lr in full else None

    t = tune([3e-4, 1e-3, 3e-3], lambda lr: Outcome.of(grid[lr]), rung2)
    assert t.needed == [("full", 0.3)] and not t.complete  # not 0.1: it ran, and tied
    full[0.3] = 7.9
    t = tune([3e-4, 1e-3, 3e-3], lambda lr: Outcome.of(grid[lr]), rung2)
    assert t.complete and t.chosen == 3e-2 and t.edge is None
    assert t.note == ("interior: 0.01 is worse at the full budget below, "
                      "0.1 ties it (the smaller lr kept), 0.3 is worse at the full budget above")
    full[0.3] = 7.2  # past the plateau it is better: the walk moves on, as for any better neighbour
    t = tune([3e-4, 1e-3, 3e-3], lambda lr: Outcome.of(grid[lr]), rung2)
    assert t.needed == [("full", 1.0)] and not t.complete
