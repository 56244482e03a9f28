"""WGAN-GP trainer: real (short) runs on 8 Gaussians and an MNIST slice, on the CPU."""

from __future__ import annotations

import json
import math
import shutil
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from gan.losses import gradient_penalty
from gan.train import GANConfig, Trainer, main

HERE = Path(__file__).resolve().parent
TOY = dict(dataset="8gaussians", width=32, batch_size=32, n_critic=2, log_every=1, eval_every=4,
           checkpoint_every=4, eval_samples=256)


def run(tmp_path, name="run", **overrides) -> Trainer:
    trainer = Trainer(GANConfig(**{**TOY, "out": str(tmp_path / name), **overrides}))
    trainer.fit()
    return trainer


def tags(run_dir: Path) -> set:
    accumulator = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "images": 0})
    accumulator.Reload()
    return set(accumulator.Tags()["scalars"]) | set(accumulator.Tags()["images"])


def test_toy_run_logs_expected_tags_and_checkpoints(tmp_path):
    run(tmp_path, iterations=8)
    found = tags(tmp_path / "run")
    for tag in ["train/critic_loss", "train/generator_loss", "train/wasserstein", "train/gradient_penalty",
                "train/critic_grad_norm", "train/lr_critic", "train/lr_generator",
                "quality/sliced_wasserstein", "samples"]:
        assert tag in found, (tag, found)
    assert (tmp_path / "run" / "last.pt").exists() and (tmp_path / "run" / "best.pt").exists()
    assert not list((tmp_path / "run").glob("*.part"))


def test_mnist_slice_logs_frechet_distance(tmp_path, monkeypatch):
    monkeypatch.setenv("SUITE_DATA_DIR", str(tmp_path / "data"))
    trainer = run(tmp_path, dataset="mnist", image_limit=512, width=8, z_dim=16, batch_size=16,
                  iterations=3, eval_every=3, eval_samples=128, critic_optimizer="adashift",
                  preset="adashift-paper")
    found = tags(tmp_path / "run")
    assert "quality/frechet_distance" in found and "samples" in found and "quality/kernel_distance" in found
    assert 0 < trainer.best < float("inf")


@pytest.mark.parametrize("critic_optimizer", ["adam", "adashift"])
def test_resume_is_exact(tmp_path, critic_optimizer):
    extra = dict(critic_optimizer=critic_optimizer, keep_num=3)
    straight = run(tmp_path, "straight", iterations=10, **extra)
    run(tmp_path, "resumed", iterations=5, **extra)
    resumed = Trainer(GANConfig(**{**TOY, "out": str(tmp_path / "resumed"), "iterations": 10, **extra}))
    assert resumed.fit()["resumed"] is True
    for a, b in [(straight.generator, resumed.generator), (straight.critic, resumed.critic)]:
        for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
            assert torch.equal(x, y), name


@pytest.mark.parametrize("dataset", ["8gaussians", "mnist"])
def test_fixed_generator_is_never_updated(tmp_path, monkeypatch, dataset):
    monkeypatch.setenv("SUITE_DATA_DIR", str(tmp_path / "data"))
    extra = {} if dataset == "8gaussians" else dict(image_limit=256, width=8, z_dim=8, eval_samples=64)
    config = GANConfig(**{**TOY, "out": str(tmp_path / "run"), "dataset": dataset, "iterations": 6,
                          "fixed_generator": True, **extra})
    trainer = Trainer(config)
    before = {k: v.clone() for k, v in trainer.generator.state_dict().items()}
    critic_before = [p.detach().clone() for p in trainer.critic.parameters()]
    trainer.fit()
    assert trainer.opt_g is None
    for key, value in trainer.generator.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert any(not torch.equal(a, b) for a, b in zip(critic_before, trainer.critic.parameters()))


def test_gradient_penalty_matches_hand_computation():
    critic = torch.nn.Linear(3, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[3.0, 4.0, 0.0]]))  # ||grad_x D|| = 5 everywhere
    real, fake = torch.randn(4, 3), torch.randn(4, 3)
    assert gradient_penalty(critic, real, fake, torch.rand(4)).item() == pytest.approx((5 - 1) ** 2)
    # a quadratic critic D(x) = 0.5 ||x||^2: grad = x_hat, penalty = mean (||x_hat|| - 1)^2
    quadratic = lambda x: 0.5 * (x**2).sum(1, keepdim=True)
    alpha = torch.tensor([0.25, 0.5, 1.0, 0.0])
    x_hat = alpha[:, None] * real + (1 - alpha[:, None]) * fake
    expected = ((x_hat.norm(dim=1) - 1) ** 2).mean()
    assert gradient_penalty(quadratic, real, fake, alpha).item() == pytest.approx(expected.item(), rel=1e-6)


def test_nan_stops_with_a_clear_message_and_keeps_the_last_good_checkpoint(tmp_path):
    trainer = Trainer(GANConfig(**{**TOY, "out": str(tmp_path / "run"), "iterations": 4}))
    trainer.fit()
    good = torch.load(tmp_path / "run" / "last.pt")["iteration"]
    trainer.config.iterations = 8
    real = trainer._real
    trainer._real = lambda: real() * float("nan")  # the data turns bad after the resume
    from gan.train import TrainingDiverged

    with pytest.raises(TrainingDiverged, match="non-finite"):
        trainer.fit()
    assert torch.load(tmp_path / "run" / "last.pt")["iteration"] == good


@pytest.mark.parametrize("overrides,message", [
    ({"dataset": "cifar10"}, "8gaussians"), ({"critic_optimizer": "adamw"}, "adashift"),
    ({"gp_lambda": -1.0}, "gp_lambda"), ({"n_critic": 0}, "n_critic"), ({"preset": "x"}, "adashift-paper"),
])
def test_bad_configuration_is_refused_with_the_choices(overrides, message):
    with pytest.raises(ValueError, match=message):
        GANConfig(**overrides)


def test_cli_reports_bad_input_without_a_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "gan.train", "--dataset", "cifar10"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "invalid choice: 'cifar10'" in result.stderr
    assert "Traceback" not in result.stderr
    result = subprocess.run([sys.executable, "-m", "gan.train", "--n-critic", "0", "--out", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "n_critic 0" in result.stderr and "Traceback" not in result.stderr


def test_unreadable_data_file_gives_a_clear_error(tmp_path, monkeypatch):
    from suite_data.debian import MissingDataError
    from suite_data.images import IDX_FILES, load_image_dataset

    monkeypatch.setenv("SUITE_DATA_DIR", str(tmp_path))
    raw = tmp_path / "torchvision" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for file in IDX_FILES:
        (raw / file).write_bytes(b"not an idx file")
    with pytest.raises(MissingDataError, match="could not read the mnist files"):
        load_image_dataset("mnist")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_torchrun_matches_one_process(tmp_path):
    args = ["--dataset", "8gaussians", "--width", "32", "--batch-size", "32", "--n-critic", "2",
            "--iterations", "4", "--eval-every", "4", "--eval-samples", "128", "--critic-optimizer", "adashift",
            "--keep-num", "2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                             "--master_port", str(free_port()), str(HERE / "gan_rank_dump.py"), *args,
                             "--out", str(tmp_path / "ddp")], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    single = Trainer(GANConfig(dataset="8gaussians", width=32, batch_size=32, n_critic=2, iterations=4,
                               eval_every=4, eval_samples=128, critic_optimizer="adashift", keep_num=2,
                               out=str(tmp_path / "single")))
    single.fit()
    ranks = [torch.load(tmp_path / "ddp" / f"rank{r}.pt") for r in range(2)]
    for part, model in [("generator", single.generator), ("critic", single.critic)]:
        for key, value in model.state_dict().items():
            assert torch.equal(ranks[0][part][key], ranks[1][part][key]), key
            torch.testing.assert_close(ranks[0][part][key], value, rtol=1e-4, atol=1e-5)


def test_sweep_writes_csv_markdown_and_plot_and_reuses_finished_runs(tmp_path):
    from gan.sweep import main as sweep

    args = ["--iterations", "4", "--seeds", "0", "--optimizers", "adam", "adashift", "--width", "16",
            "--batch-size", "16", "--eval-every", "2", "--eval-samples", "64", "--log-every", "1",
            "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out")]
    rows = sweep(args)
    assert len(rows) == 4 and all(np.isfinite(r["final_critic_loss"]) for r in rows)
    table = (tmp_path / "out" / "results.md").read_text()
    assert "| critic-only | adashift | 1 |" in table and "| full | adam | 1 |" in table
    assert (tmp_path / "out" / "critic_loss.png").stat().st_size > 10_000
    again = sweep(args)  # finished runs are reused, not retrained
    assert [r["final_critic_loss"] for r in again] == [r["final_critic_loss"] for r in rows]
    # a reused row keeps the throughput of the run that made it (strict JSON: no NaN anywhere)
    assert [r["iterations_per_second"] for r in again] == [r["iterations_per_second"] for r in rows]
    assert all(r["iterations_per_second"] > 0 for r in rows)
    json.loads((tmp_path / "out" / "summary.json").read_text(), parse_constant=lambda c: pytest.fail(c))


def test_image_sweep_keeps_rows_kid_and_sample_grids_beside_its_results(tmp_path):
    from gan.sweep import SweepConfig, run

    config = SweepConfig(dataset="fashion-mnist", protocols=["full"], optimizers=["adam"], seeds=[0, 1], iterations=2,
                         width=8, batch_size=16, image_limit=256, log_every=1, eval_every=2, eval_samples=32,
                         runs=tmp_path / "runs", out=tmp_path / "out")
    rows = run(config)
    assert all(np.isfinite(r["final_kernel_distance"]) and r["train_seconds"] >= 0 for r in rows)
    out = tmp_path / "out"
    assert "final KID" in (out / "results.md").read_text()
    cpu = rows[0]["machine"]["cpu"]  # each row records where its train_seconds were spent; the page counts them
    assert all(r["machine"]["cpu"] == cpu for r in rows) and f"(2 on {cpu};" in (out / "results.md").read_text()
    assert (out / "samples_full_adam.png").stat().st_size > 5_000
    summary = json.loads((out / "summary.json").read_text())
    assert summary["samples"] == ["samples_full_adam.png"] and len(summary["rows"]) == 2
    assert summary["command"].startswith("python -m gan.sweep --dataset fashion-mnist")
    shutil.rmtree(tmp_path / "runs")  # another machine: only the committed rows
    again = run(config)
    assert [r["final_kernel_distance"] for r in again] == [r["final_kernel_distance"] for r in rows]
    assert (out / "samples_full_adam.png").exists()


def test_sweep_runs_seed_by_seed_and_returns_rows_by_optimizer(tmp_path, monkeypatch):
    """Every optimizer's first seed runs before any second seed: an interrupted sweep compares all."""
    from gan import sweep

    order, original = [], sweep.run_one
    monkeypatch.setattr(sweep, "run_one", lambda p, o, s, config: order.append((o, s)) or original(p, o, s, config))
    rows = sweep.main(["--iterations", "2", "--seeds", "0", "1", "--optimizers", "adam", "adashift",
                       "--protocols", "critic-only", "--width", "16", "--batch-size", "16", "--eval-every", "2",
                       "--eval-samples", "64", "--log-every", "1", "--runs", str(tmp_path / "runs"),
                       "--out", str(tmp_path / "out")])
    assert order == [("adam", 0), ("adashift", 0), ("adam", 1), ("adashift", 1)]
    assert [(r["optimizer"], r["seed"]) for r in rows] == [("adam", 0), ("adam", 1), ("adashift", 0), ("adashift", 1)]


def test_sweep_never_reuses_a_run_made_with_other_options(tmp_path):
    from gan.sweep import main as sweep

    base = ["--iterations", "3", "--seeds", "0", "--optimizers", "adashift", "--batch-size", "16",
            "--eval-every", "3", "--eval-samples", "64", "--log-every", "1", "--protocols", "critic-only",
            "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out")]
    first = sweep([*base, "--width", "16"])
    other = sweep([*base, "--width", "8"])
    assert first[0]["run"] != other[0]["run"]
    assert np.isfinite(other[0]["iterations_per_second"])  # trained, not reused
    assert len(list((tmp_path / "runs").iterdir())) == 2


def test_sweep_refuses_duplicated_seeds_and_optimizers(tmp_path):
    for flag, values in [("--seeds", ["1", "1"]), ("--optimizers", ["adam", "adam"])]:
        result = subprocess.run([sys.executable, "-m", "gan.sweep", flag, *values, "--runs", str(tmp_path)],
                                capture_output=True, text=True)
        assert result.returncode == 2 and "more than once" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("flag,value", [("--keep-num", "0"), ("--width", "0"), ("--z-dim", "0"),
                                        ("--image-limit", "-5"), ("--eval-samples", "0"), ("--critic-lr", "nan"),
                                        ("--critic-lr", "-1"), ("--generator-lr", "inf")])
def test_cli_refuses_values_that_were_silently_replaced(tmp_path, flag, value):
    result = subprocess.run([sys.executable, "-m", "gan.train", flag, value, "--out", str(tmp_path / "run")],
                            capture_output=True, text=True)
    name = flag[2:].replace("-", "_")
    assert result.returncode == 2 and f"{name} {float(value) if 'lr' in name else int(value)!r}" in result.stderr, \
        result.stderr[-2000:]
    assert "Traceback" not in result.stderr and not (tmp_path / "run").exists()


@pytest.mark.parametrize("change", [{"keep_num": 4}, {"reduce": "mean"}, {"critic_lr": 1e-3},
                                    {"critic_optimizer": "adam"}, {"dataset": "25gaussians"}])
def test_resume_with_other_options_is_refused_before_anything_is_written(tmp_path, change):
    extra = dict(critic_optimizer="adashift", keep_num=3, iterations=4)
    run(tmp_path, **extra)
    before = {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir() if p.is_file()}
    with pytest.raises(ValueError, match="other options") as error:
        run(tmp_path, **{**extra, **change, "iterations": 8})
    assert next(iter(change)) in str(error.value)
    after = {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir() if p.is_file()}
    assert after == before
    assert run(tmp_path, **{**extra, "iterations": 6}).iteration == 6  # a longer run of the same options


def test_truncated_last_checkpoint_falls_back_to_best_with_a_warning(tmp_path):
    run(tmp_path, iterations=8)
    best_iteration = torch.load(tmp_path / "run" / "best.pt", weights_only=True)["iteration"]
    (tmp_path / "run" / "last.pt").write_bytes((tmp_path / "run" / "last.pt").read_bytes()[:300])
    trainer = Trainer(GANConfig(**{**TOY, "out": str(tmp_path / "run"), "iterations": 10}))
    with pytest.warns(RuntimeWarning, match="last.pt is unreadable"):
        assert trainer.try_resume()
    assert trainer.iteration == best_iteration
    (tmp_path / "run" / "best.pt").write_bytes(b"")
    result = subprocess.run([sys.executable, "-m", "gan.train", "--width", "32", "--batch-size", "32",
                             "--n-critic", "2", "--log-every", "1", "--eval-every", "4", "--checkpoint-every", "4",
                             "--eval-samples", "256", "--iterations", "10", "--out", str(tmp_path / "run")],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "cannot resume" in result.stderr and "best.pt" in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "run" / "best.pt").read_bytes() == b""  # left alone


class Payload:
    def __reduce__(self):
        return (os.mkdir, (os.environ["PAYLOAD_MARKER"],))


def test_checkpoints_load_with_weights_only_even_when_torch_is_told_otherwise(tmp_path):
    run(tmp_path, iterations=4)
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    marker = tmp_path / "payload-ran"
    os.environ["PAYLOAD_MARKER"] = str(marker)
    try:
        torch.save({**state, "payload": Payload()}, tmp_path / "run" / "last.pt")
    finally:
        del os.environ["PAYLOAD_MARKER"]
    env = {**os.environ, "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1", "PAYLOAD_MARKER": str(marker),
           "PYTHONPATH": str(HERE)}
    result = subprocess.run([sys.executable, "-m", "gan.train", "--width", "32", "--batch-size", "32",
                             "--n-critic", "2", "--log-every", "1", "--eval-every", "4", "--checkpoint-every", "4",
                             "--eval-samples", "256", "--iterations", "6", "--out", str(tmp_path / "run")],
                            capture_output=True, text=True, env=env)
    assert not marker.exists(), "a pickled payload ran"
    assert result.returncode == 0 and "last.pt is unreadable" in result.stderr  # refused; resumed from best.pt
    assert "UnpicklingError" in result.stderr


def test_unwritable_out_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    result = subprocess.run([sys.executable, "-m", "gan.train", "--iterations", "2", "--out", str(blocker / "run")],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "error:" in result.stderr and "Traceback" not in result.stderr
    assert blocker.read_text() == "a file where a folder should be"


def test_truncated_feature_net_cache_is_rebuilt_with_a_warning(tmp_path):
    from gan.metrics import cached_feature_net

    images, labels = torch.rand(64, 1, 28, 28) * 2 - 1, torch.randint(10, (64,))
    cached_feature_net("mnist", images, labels, tmp_path)
    cache = tmp_path / "feature_net_mnist_64.pt"
    cache.write_bytes(cache.read_bytes()[:100])
    with pytest.warns(RuntimeWarning, match="unreadable"):
        cached_feature_net("mnist", images, labels, tmp_path)
    torch.load(cache, weights_only=True)  # rebuilt whole


def test_diagnostics_flag_logs_the_probe_to_tensorboard(tmp_path):
    run(tmp_path, iterations=12, critic_optimizer="adopt", generator_optimizer="adashift", keep_num=2,
        diagnostics_every=2)
    found = tags(tmp_path / "run")
    for role in ("critic", "generator"):
        assert {f"diagnostics/{role}_corr", f"diagnostics/{role}_net_update_ratio"} <= found, found
    assert "diagnostics/generator_gated" in found
    with pytest.raises(ValueError, match="diagnostics_every"):
        GANConfig(diagnostics_every=-1)


def test_adashift_maxgp_loss_matches_hand_computation():
    from gan.losses import critic_loss, generator_loss

    critic = torch.nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[3.0, 4.0, 0.0]]))  # linear: ||grad|| = 5 at every x_hat
    real = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # D = 3, 4
    fake = torch.tensor([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0]])  # D = 0, -3
    loss, wasserstein, penalty = critic_loss(critic, real, fake, torch.rand(2), 0.1, kind="adashift-maxgp")
    softplus = lambda t: math.log1p(math.exp(t))
    real_term = ((softplus(-3) - 3) + (softplus(-4) - 4)) / 2  # -log sigmoid(D) - D
    fake_term = ((softplus(0) + 0) + (softplus(-3) - 3)) / 2  # -log sigmoid(-D) + D
    assert penalty.item() == pytest.approx(25.0)  # max ||grad||^2
    assert loss.item() == pytest.approx(real_term + fake_term + 0.1 * 25.0, rel=1e-6)
    assert wasserstein.item() == pytest.approx(3.5 - (-1.5))
    # MaxGP is the max, not the mean: a quadratic critic, gradient x_hat, different norms per sample
    quadratic = lambda x: 0.5 * (x**2).sum(1, keepdim=True)
    alpha = torch.tensor([1.0, 0.0])  # x_hat = real[0] (|grad|^2 1) and far[1] (|grad|^2 9)
    far = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 3.0]])
    _, _, maxgp = critic_loss(quadratic, real, far, alpha, 0.1, kind="adashift-maxgp")
    assert maxgp.item() == pytest.approx(9.0)
    d = torch.tensor([[0.5], [-1.0]])
    assert generator_loss(d, "adashift-maxgp").item() == pytest.approx(
        ((softplus(-0.5) - 0.5) + (softplus(1.0) + 1.0)) / 2)
    assert generator_loss(d).item() == pytest.approx(0.25)


def test_critic_only_run_with_the_authors_loss(tmp_path):
    trainer = run(tmp_path, iterations=4, fixed_generator=True, loss="adashift-maxgp", critic_optimizer="adashift",
                  preset="adashift-paper")
    assert trainer.config.gp_lambda == 0.1
    assert "train/critic_loss" in tags(tmp_path / "run")
    with pytest.raises(ValueError, match="loss"):
        GANConfig(loss="hinge")


def test_kernel_distance_is_the_unbiased_mmd_with_the_cubic_kernel():
    from gan.metrics import kernel_distance

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(30, 4)), rng.normal(size=(25, 4))
    kernel = lambda x, y: (x @ y / 4 + 1) ** 3
    within_a = sum(kernel(a[i], a[j]) for i in range(30) for j in range(30) if i != j) / (30 * 29)
    within_b = sum(kernel(b[i], b[j]) for i in range(25) for j in range(25) if i != j) / (25 * 24)
    across = sum(kernel(x, y) for x in a for y in b) / (30 * 25)
    assert kernel_distance(a, b) == pytest.approx(within_a + within_b - 2 * across, rel=1e-9)
    same = [kernel_distance(rng.normal(size=(20, 4)), rng.normal(size=(20, 4))) for _ in range(200)]
    assert abs(np.mean(same)) < 3 * np.std(same) / np.sqrt(len(same))  # unbiased: centred on 0 (3 sigma)
    assert kernel_distance(a, rng.normal(loc=2.0, size=(25, 4))) > 1.0
