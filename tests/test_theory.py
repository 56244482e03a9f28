"""The theory experiments: real runs with assertions that fail if the claims (or the code) break."""

from __future__ import annotations

import numpy as np
import pytest

from theory.analysis import critical_c, sequential_closed_form_factors, simulated_net_update_factors
from theory.counterexamples import (SEQUENTIAL_SETTINGS, OptimizerSetting, Stochastic, sequential_settings,
                                    stochastic_settings)
from theory.paths import run_numpy, run_torch


def setting(label):
    return next(s for s in stochastic_settings()[1] if s.label == label)


def test_stochastic_adam_goes_the_wrong_way_and_adashift_the_right_way():
    gradients = Stochastic().gradients(1_000_000, runs=2, seed=1)
    adam = run_numpy(setting("Adam beta1=0"), gradients)[:, -1]
    adashift = run_numpy(setting("AdaShift n=1 beta1=0"), gradients)[:, -1]
    assert (adam > 0).all(), adam
    assert (adashift < 0).all(), adashift


def test_sequential_adam_ends_at_plus_one_and_amsgrad_at_minus_one():
    problem, settings = sequential_settings("reddi")
    gradients = problem.gradients(50_000)
    final = {s.label: run_numpy(s, gradients, bounds=problem.bounds)[0, -1] for s in settings}
    assert final["Adam"] > 0.99 and final["AMSGrad"] < -0.99
    # and the library's own classes get there too
    short = problem.gradients(3_000)
    torch_final = {s.label: run_torch(s, short, bounds=problem.bounds)[0, -1] for s in settings[:2]}
    assert torch_final["Adam"] > 0.9 and torch_final["AMSGrad"] < -0.9


@pytest.mark.parametrize("kind", SEQUENTIAL_SETTINGS)
def test_torch_and_numpy_paths_agree_on_sequential_examples(kind):
    problem, settings = sequential_settings(kind)
    gradients = problem.gradients(600)
    for s in settings:
        np.testing.assert_allclose(run_torch(s, gradients, bounds=problem.bounds),
                                   run_numpy(s, gradients, bounds=problem.bounds), rtol=0, atol=1e-12,
                                   err_msg=s.label)


def test_torch_and_numpy_paths_agree_on_stochastic_runs_as_tensor_elements():
    gradients = Stochastic().gradients(800, runs=5, seed=3)
    extra = [OptimizerSetting("AdaShift n=3", "adashift",
                              {"betas": (0.9, 0.99), "keep_num": 3, "reduce": "none"}, 1e-2),
             OptimizerSetting("AdamAL", "adamal", {"betas": (0.9, 0.99)}, 1e-2),
             OptimizerSetting("AdamNC", "adamnc", {"beta1": 0.5}, 1e-2)]
    for s in stochastic_settings()[1] + extra:
        np.testing.assert_allclose(run_torch(s, gradients), run_numpy(s, gradients), rtol=1e-10,
                                   atol=1e-13, err_msg=s.label)


def test_adam_net_update_factor_favours_the_frequent_small_gradient():
    closed = sequential_closed_form_factors(3.0, 3, 0.0, 0.1)
    problem, _ = sequential_settings("reddi")
    simulated = simulated_net_update_factors(problem.gradients(30_000)[0], "adam", 0.0, 0.1)
    assert closed["C"] < closed["-1"] and simulated["C"] < simulated["-1"]
    assert simulated["C"] == pytest.approx(closed["C"], rel=1e-6)
    g = Stochastic().gradients(500_000, seed=2)[0]
    adam = simulated_net_update_factors(g, "adam", 0.0, 0.999)
    shift = simulated_net_update_factors(g, "adashift", 0.0, 0.999, keep_num=1)
    assert adam["C"] < 0.97 * adam["-1"]
    assert shift["C"] == pytest.approx(shift["-1"], rel=0.01)


def test_critical_c_grows_with_beta2():
    Cs = np.geomspace(1.1, 500, 40)
    values = [critical_c(0.0, b2, Cs, steps=60_000) for b2 in (0.9, 0.99, 0.999)]
    assert values[0] < values[1] < values[2], values


def test_theory_runner_writes_its_outputs(tmp_path):
    from theory.run import main

    main(["--scale", "tiny", "--out", str(tmp_path / "out"), "--runs", str(tmp_path / "runs"),
          "--only", "stochastic", "net_update"])
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "Adam beta1=0: theta > 0" in summary and "reproduced" in summary
    assert (tmp_path / "out" / "stochastic.png").stat().st_size > 10_000
    assert list((tmp_path / "runs").glob("events.out.tfevents.*"))
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: PLC0415
    from test_tensorboard_export import session_hparams  # noqa: PLC0415

    accumulator = EventAccumulator(str(tmp_path / "runs"))
    accumulator.Reload()  # an HParams session, like every benchmark run
    assert session_hparams(accumulator) == {"scale": "tiny", "experiments": "stochastic,net_update"}
