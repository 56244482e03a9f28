"""vision/: the data pipeline, the networks, one run (resume, TensorBoard), the benchmark end to end
on a sliver of Fashion-MNIST (fmnist-tiny), and the one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vision import benchmark, data, models
from vision.train import VisionConfig, multiplier, run

REPO = Path(__file__).resolve().parent.parent
TINY = dict(dataset="fashion-mnist", arch="resnet8", epochs=2, batch_size=64, valid=256, train_limit=256)


def test_augment_crops_within_the_padding_and_flips_whole_images():
    images = torch.arange(3 * 2 * 6 * 6, dtype=torch.uint8).view(3, 2, 6, 6)
    padded = torch.nn.functional.pad(images, (4, 4, 4, 4))
    out = data._crop(padded, torch.tensor([4, 0, 8]), torch.tensor([4, 8, 0]), 6, 6)
    assert torch.equal(out[0], images[0]) and torch.equal(out[1], padded[1, :, 0:6, 8:14])
    got = data.augment(images, torch.Generator().manual_seed(0))
    again = data.augment(images, torch.Generator().manual_seed(0))
    assert got.shape == images.shape and got.dtype == torch.uint8 and torch.equal(got, again)


def test_the_validation_split_is_fixed_and_disjoint_from_training():
    train, valid = data.train_valid("fashion-mnist", 500)
    again, valid_again = data.train_valid("fashion-mnist", 500, limit=1000)
    assert len(valid.labels) == 500 and len(train.labels) == 59_500 and torch.equal(valid.images, valid_again.images)
    assert torch.equal(again.images, train.images[:1000])
    seen = {bytes(x.numpy()) for x in valid.images[:100]}
    assert not seen & {bytes(x.numpy()) for x in train.images[:20_000]}  # no duplicate of a held-out image


def test_the_networks_have_the_papers_sizes():
    assert sum(p.numel() for p in models.build("resnet20", 3).parameters()) == pytest.approx(0.27e6, rel=0.03)
    assert models.build("resnet18", 3)(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(ValueError, match="resnet<6n\\+2>"):
        models.build("resnet9", 1)


def test_the_schedule_warms_up_then_follows_a_cosine_to_zero():
    values = [multiplier(t, 100, 10) for t in range(100)]
    assert values[0] == 0.1 and values[9] == 1.0 and values[10] == 1.0 and values[55] == pytest.approx(0.5, abs=0.02)
    assert all(a >= b for a, b in zip(values[10:], values[11:])) and values[-1] < 0.001


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_same_result_and_logs_every_epoch(tmp_path, monkeypatch):
    import vision.train

    config = dict(TINY, optimizer="adashift", keep_num=10, reduce="max", betas=(0.9, 0.999), lr=1e-2)
    whole = run(VisionConfig(**config, out=str(tmp_path / "whole")))
    save = vision.train.atomic_torch_save

    def save_then_die(obj, path):  # killed right after the first epoch's checkpoint
        save(obj, path)
        raise KeyboardInterrupt

    monkeypatch.setattr(vision.train, "atomic_torch_save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        run(VisionConfig(**config, out=str(tmp_path / "split")))
    monkeypatch.setattr(vision.train, "atomic_torch_save", save)
    resumed = run(VisionConfig(**config, out=str(tmp_path / "split")))
    assert resumed["curve"] == whole["curve"] and len(whole["curve"]) == 2
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "whole"))
    events.Reload()
    assert len(events.Scalars("test/accuracy")) == 2 and events.Scalars("train/lr")


def test_bad_values_and_missing_cifar_data_are_one_line_errors(tmp_path):
    with pytest.raises(ValueError, match="Invalid lr: -1"):
        VisionConfig(lr=-1)
    with pytest.raises(ValueError, match="Unknown optimizer 'rmsprop'"):
        VisionConfig(optimizer="rmsprop")
    done = subprocess.run([sys.executable, "-m", "vision", "train", "--dataset", "cifar10", "--data-dir", str(tmp_path),
                           "--out", str(tmp_path / "run")], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"CIFAR-10 not found: {tmp_path / 'cifar-10-batches-py'} does not exist" in done.stderr


@pytest.mark.slow
def test_the_tiny_benchmark_tunes_promotes_and_writes_rows_pages_and_tensorboard(tmp_path):
    summary = benchmark.run_benchmark("fmnist-tiny", tmp_path, ["adam"])
    t = summary["tuning"]["adam"]
    assert t["complete"] and set(benchmark.CANDIDATES["adam"][1]) <= {g["lr"] for g in t["grid"]}
    assert [f["lr"] for f in t["full"]] == t["promoted"] and len(t["promoted"]) >= 2
    entry = summary["candidates"]["adam"]
    assert entry["lr"] == t["chosen"] and entry["seeds"] == [1, 2]
    assert all(0 <= r["test_accuracy"] <= 100 and len(r["curve"]) == 2 for r in entry["runs"])
    out = tmp_path / "results" / "vision" / "fmnist-tiny"
    rows = list((out / "runs").glob("*.json"))
    assert len(list((out / "tensorboard").rglob("events.out.tfevents.*"))) == len(rows) >= 5
    assert "python -m vision train" in json.loads(rows[0].read_text())["command"]
    assert "Verdicts" in (out / "results.md").read_text() and (out / "test_accuracy.png").stat().st_size > 5000
    again = benchmark.run_benchmark("fmnist-tiny", tmp_path, ["adam"], train=False)  # rows reused, nothing trained
    assert again["candidates"]["adam"]["runs"] == entry["runs"]
