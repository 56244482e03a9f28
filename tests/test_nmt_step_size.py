"""nmt.step_size against what the optimizer really did: the parameters' change over the last step,
divided by the lr, on checkpoints written the way fairseq writes them (float64, so the change is exact)."""

from __future__ import annotations

import pytest
import torch

from nmt import __main__ as cli
from nmt import step_size
from optim_plugins import AdaShift, Adam, AMSGrad
from suite_results.cli import run_cli

from test_nmt_step_scale import Tied, train  # the same tied toy model and batches

LR = 1e-2


def checkpoint(tmp_path, make_optimizer, steps=7):
    """Train ``steps`` steps; the checkpoint after the last, and each parameter's change over it."""
    torch.manual_seed(0)
    model = Tied().double()
    optimizer = make_optimizer(model.parameters())
    before = train(model, optimizer, steps)
    change = [(b - p.detach()).abs().flatten() / LR for b, p in zip(before, optimizer.param_groups[0]["params"])]
    path = tmp_path / "checkpoint.pt"
    torch.save({"model": model.state_dict(), "last_optimizer_state": optimizer.state_dict()}, path)
    return path, change


OPTIMIZERS = {
    "adam": lambda p: Adam(p, lr=LR, betas=(0.9, 0.98)),
    "amsgrad": lambda p: AMSGrad(p, lr=LR, betas=(0.9, 0.98)),
    "adashift-elementwise": lambda p: AdaShift(p, lr=LR, betas=(0.0, 0.999), keep_num=1, reduce="none"),
    "adashift-window": lambda p: AdaShift(p, lr=LR, betas=(0.0, 0.9), keep_num=3, reduce="none"),
    "adashift-momentum": lambda p: AdaShift(p, lr=LR, betas=(0.9, 0.99), keep_num=3, reduce="none"),
    "adashift-max-momentum": lambda p: AdaShift(p, lr=LR, betas=(0.9, 0.99), keep_num=2, reduce="max"),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_the_recomputed_step_is_the_step_the_optimizer_took(tmp_path, name):
    path, change = checkpoint(tmp_path, OPTIMIZERS[name])
    rows, total = step_size.step_sizes(path)
    assert [r["name"] for r in rows] == ["embed.weight", "hidden.weight", "hidden.bias"]
    sizes = [step_size.last_step(state, group, name, path)
             for name, state, group in step_size.parameters(step_size.load(path), path)]
    for size, moved in zip(sizes, change):
        torch.testing.assert_close(size, moved, rtol=1e-9, atol=1e-12)
    everything = torch.cat(change)
    assert total["elements"] == everything.numel()
    assert total["max"] == pytest.approx(everything.max().item(), rel=1e-6)
    assert total["above"] == pytest.approx((everything > total["bound"]).double().mean().item())
    assert 0 <= total["q0.5"] <= total["q0.99"] <= total["q0.999"] <= total["max"] and total["max"] > 0


def test_adashift_steps_past_adams_bound_where_adam_cannot(tmp_path):
    """A gradient 100x larger than every earlier one: AdaShift's v has not seen it, Adam's has."""
    sizes = {}
    for name, make in {"adam": lambda p: Adam(p, lr=LR, betas=(0.0, 0.999)),
                       "adashift": lambda p: AdaShift(p, lr=LR, betas=(0.0, 0.999), keep_num=1, reduce="none")}.items():
        param = torch.nn.Parameter(torch.ones(4, dtype=torch.float64))
        optimizer = make([param])
        for step in range(20):
            param.grad = torch.full_like(param, 100.0 if step == 19 else 1.0)
            optimizer.step()
        path = tmp_path / f"{name}.pt"
        torch.save({"model": {"w": param.detach()}, "last_optimizer_state": optimizer.state_dict()}, path)
        sizes[name] = step_size.step_sizes(path)[1]
    assert sizes["adam"]["max"] <= sizes["adam"]["bound"] and sizes["adam"]["above"] == 0
    assert sizes["adashift"]["max"] == pytest.approx(100) and 100 > sizes["adashift"]["bound"] and sizes["adashift"]["above"] == 1


def test_checkpoints_without_the_last_gradient_are_refused_by_name(tmp_path, capsys):
    lean, _ = checkpoint(tmp_path, lambda p: AdaShift(p, lr=LR, betas=(0.0, 0.9), keep_num=2, reduce="max"))
    with pytest.raises(ValueError, match="embed.weight is a reduce max/mean AdaShift state with beta1 = 0"):
        step_size.step_sizes(lean)
    with pytest.raises(SystemExit) as stopped:  # the command line prints it as one line, exit 2
        run_cli("python -m nmt", cli.main, ["step-size", str(lean)])
    assert stopped.value.code == 2
    assert "embed.weight is a reduce max/mean" in capsys.readouterr().err
    adam, _ = checkpoint(tmp_path, OPTIMIZERS["adam"])
    out = tmp_path / "out" / "size.md"
    assert cli.main(["step-size", str(adam), "--out", str(out)]) == 0
    text = out.read_text()
    assert text in capsys.readouterr().out and "| all elements | 282 |" in text and "share above 7.1" in text
