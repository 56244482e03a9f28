"""nmt.step_scale on checkpoints written the way fairseq writes them (model state dict with buffers
and a tied embedding, the optimizer's state_dict), against the ratios computed here by hand."""

from __future__ import annotations

import math

import pytest
import torch

from nmt import __main__ as cli
from nmt import step_scale
from optim_plugins import AdaShift, AMSGrad


class Tied(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(40, 6)
        self.hidden = torch.nn.Linear(6, 6)
        self.out = torch.nn.Linear(6, 40, bias=False)
        self.out.weight = self.embed.weight  # shared, as --share-all-embeddings
        self.register_buffer("version", torch.tensor([3.0]))

    def forward(self, tokens):
        return self.out(torch.tanh(self.hidden(self.embed(tokens))))


def train(model, optimizer, steps):
    """``steps`` steps on fixed toy batches; each parameter as it was before the last step."""
    for step in range(steps):
        tokens = torch.randint(0, 40, (16,), generator=torch.Generator().manual_seed(step))
        loss = torch.nn.functional.cross_entropy(model(tokens), tokens.roll(1))
        optimizer.zero_grad()
        loss.backward()
        before = [p.detach().clone() for p in optimizer.param_groups[0]["params"]]
        optimizer.step()
    return before


def checkpoint(tmp_path, name, make_optimizer, steps=7):
    torch.manual_seed(0)
    model = Tied()
    optimizer = make_optimizer(model.parameters())
    train(model, optimizer, steps)
    path = tmp_path / name
    torch.save({"model": model.state_dict(), "last_optimizer_state": optimizer.state_dict()}, path)
    return path, optimizer


def test_ratios_equal_a_hand_computation_from_the_optimizer_state(tmp_path):
    ams_path, ams = checkpoint(tmp_path, "ams.pt", lambda p: AMSGrad(p, lr=1e-2, betas=(0.9, 0.98)))
    shift_path, shift = checkpoint(tmp_path, "shift.pt",
                                   lambda p: AdaShift(p, lr=1e-2, betas=(0.0, 0.9), keep_num=2, reduce="max"))
    rows = step_scale.step_scale(ams_path, shift_path)
    assert [r["name"] for r in rows] == ["embed.weight", "hidden.weight", "hidden.bias"]  # no buffer, tied once
    for row, p_ams, p_shift in zip(rows, ams.param_groups[0]["params"], shift.param_groups[0]["params"]):
        s = ams.state[p_ams]
        v = [x / (1 - 0.98 ** 7) for x in s["max_exp_avg_sq"].double().flatten().tolist()]
        median = sorted(v)[(len(v) - 1) // 2]  # torch.median: the lower of the two middle values
        assert row["elements"] == len(v)
        assert row["shrink"] == pytest.approx(math.sqrt(max(v) / median), rel=1e-12)
        t = shift.state[p_shift]
        k = 7 - int(t["active_since"]) + 1
        v_shift = float(t["exp_avg_sq"]) / max(1e-8, 1 - 0.9 ** k)
        assert row["vs_elementwise"] == pytest.approx(math.sqrt(v_shift / median), rel=1e-12)
        assert row["shrink"] >= 1
    text = step_scale.report(rows, "python -m nmt step-scale ams.pt --reduced shift.pt")
    assert "| embed.weight | 240 |" in text and "median over elements" in text


def test_a_tensor_with_equal_v_everywhere_loses_nothing(tmp_path):
    path, _ = checkpoint(tmp_path, "ams.pt", lambda p: AMSGrad(p, lr=1e-2))
    saved = torch.load(path, weights_only=False)
    for state in saved["last_optimizer_state"]["state"].values():
        state["max_exp_avg_sq"].fill_(0.25)
    torch.save(saved, path)
    assert all(r["shrink"] == 1.0 for r in step_scale.step_scale(path))


def test_bad_checkpoints_are_refused_by_name(tmp_path, capsys):
    ams_path, _ = checkpoint(tmp_path, "ams.pt", lambda p: AMSGrad(p, lr=1e-2))
    shift_path, _ = checkpoint(tmp_path, "shift.pt", lambda p: AdaShift(p, betas=(0.0, 0.9), reduce="max"))
    with pytest.raises(ValueError, match="embed.weight has one v for the whole tensor"):
        step_scale.step_scale(shift_path)
    with pytest.raises(ValueError, match="embed.weight has a v per element"):
        step_scale.step_scale(ams_path, ams_path)
    torch.save({"model": {}}, tmp_path / "bare.pt")
    with pytest.raises(ValueError, match="bare.pt: not a fairseq checkpoint"):
        step_scale.step_scale(tmp_path / "bare.pt")
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        step_scale.step_scale(tmp_path / "missing.pt")
    out = tmp_path / "out" / "scale.md"
    assert cli.main(["step-scale", str(ams_path), "--reduced", str(shift_path), "--out", str(out)]) == 0
    assert out.read_text() in capsys.readouterr().out
