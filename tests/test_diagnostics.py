"""The decorrelation probe: the papers' quantities measured on real steps of our optimizers."""

from __future__ import annotations

import pytest
import torch

from optim_plugins import build_optimizer
from optim_plugins.diagnostics import DecorrelationProbe


def heavy_tailed_run(name, steps=400, every=1, **kwargs):
    """Gradients g = scale * noise with rare 20x spikes (a stochastic counterexample in many dims)."""
    torch.manual_seed(0)
    param = torch.zeros(4096, requires_grad=True)
    optimizer = build_optimizer(name, [param], lr=1e-3, **kwargs)
    probe = DecorrelationProbe(optimizer, every=every, sample=512)
    generator = torch.Generator().manual_seed(1)
    for _ in range(steps):
        noise = torch.randn(4096, generator=generator).abs()
        spikes = (torch.rand(4096, generator=generator) < 0.05).float() * 20
        param.grad = noise + spikes
        optimizer.step()
    return probe.summary(), optimizer


def test_adam_step_size_anticorrelates_with_the_current_gradient():
    summary, _ = heavy_tailed_run("adam", betas=(0.0, 0.9))
    assert summary["corr"] < -0.1 and summary["net_update_ratio"] < 0.9, summary


@pytest.mark.parametrize("name,kwargs", [("adashift", {"keep_num": 1, "reduce": "none", "betas": (0.0, 0.9)}),
                                         ("adopt", {"betas": (0.0, 0.9)})])
def test_decorrelated_optimizers_do_not(name, kwargs):
    """v from g_{t-1}: on independent gradients the step size does not depend on the current one."""
    summary, _ = heavy_tailed_run(name, **kwargs)
    assert abs(summary["corr"]) < 0.1 and abs(summary["net_update_ratio"] - 1) < 0.08, summary


def test_amsgrad_holds_its_max_and_adashift_reports_its_gates():
    summary, _ = heavy_tailed_run("amsgrad", betas=(0.0, 0.9))
    assert 0.3 < summary["v_unchanged"] <= 1.0, summary
    summary, _ = heavy_tailed_run("adashift", steps=5, keep_num=10, reduce="none")
    assert summary["gated"] == 1.0  # 5 steps into a 10-slot window: every gate still closed


def test_probe_observes_every_nth_step_and_changes_nothing():
    torch.manual_seed(0)
    a, b = torch.randn(50, requires_grad=True), None
    b = a.detach().clone().requires_grad_()
    watched, plain = build_optimizer("adopt", [a], lr=0.01), build_optimizer("adopt", [b], lr=0.01)
    probe = DecorrelationProbe(watched, every=3)
    updates = []
    for step in range(1, 10):
        grad = torch.randn(50)
        a.grad, b.grad = grad.clone(), grad.clone()
        watched.step()
        plain.step()
        updates.append(probe.updated)
    assert updates == [False, False, True, False, False, True, False, False, True]
    assert torch.equal(a, b)
    probe.remove()
    watched.step()
    assert probe.calls == 9


def test_probe_refuses_bad_settings_and_foreign_optimizers():
    param = torch.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match="every"):
        DecorrelationProbe(build_optimizer("adam", [param]), every=0)
    with pytest.raises(ValueError, match="SGD"):
        DecorrelationProbe(torch.optim.SGD([param], lr=0.1), every=1)
