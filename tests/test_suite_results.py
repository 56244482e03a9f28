"""The shared results module: scalars read back from TensorBoard, the spread over seeds."""

from __future__ import annotations

import numpy as np
import pytest
from torch.utils.tensorboard import SummaryWriter

from suite_results.scalars import read_scalar, read_scalars
from suite_results.stats import format_spread, spread


def test_scalars_keep_the_last_value_of_a_repeated_step(tmp_path):
    writer = SummaryWriter(str(tmp_path))
    for step, value in ((1, 5.0), (2, 4.0), (3, 3.0)):
        writer.add_scalar("train/loss", value, step)
    writer.add_scalar("diag_corr", 0.5, 2)
    writer.flush()
    writer.close()
    writer = SummaryWriter(str(tmp_path))  # a resumed run writes step 3 again
    writer.add_scalar("train/loss", 2.5, 3)
    writer.close()
    loss = read_scalar(tmp_path, "train/loss")
    assert [(e.step, e.value) for e in loss] == [(1, 5.0), (2, 4.0), (3, 2.5)]
    assert list(read_scalars(tmp_path, prefix="diag_")) == ["diag_corr"]
    assert read_scalar(tmp_path, "train/los") == [] and read_scalar(tmp_path / "missing", "x") == []


def test_spread_mean_std_and_an_interval_around_the_mean():
    s = spread([1.0, 2.0, 3.0, 4.0])
    assert s["mean"] == pytest.approx(2.5) and s["std"] == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    assert 1.0 <= s["ci_low"] < 2.5 < s["ci_high"] <= 4.0
    assert spread([7.0]) == {"n": 1, "mean": 7.0, "std": 0.0, "ci_low": 7.0, "ci_high": 7.0}
    assert format_spread(spread([7.0])) == "7.00 ± 0.00 [7.0, 7.0]"
    with pytest.raises(ValueError):
        spread([])
