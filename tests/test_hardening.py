"""Second hardening round (issue "Hardening, second round"): copies, odd tensors, one writer per
run directory, damaged result rows, strict JSON, no empty event files."""

from __future__ import annotations

import copy
import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from optim_plugins import build_optimizer
from test_optimizers import ALL_CONFIGS, CONFIG_IDS, PATHS, _on_triton, make_params, train_steps

ROOT = Path(__file__).resolve().parent.parent
STEP_PATHS = ["foreach", "per-tensor", "fast"]


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
@pytest.mark.parametrize("name,kwargs", ALL_CONFIGS, ids=CONFIG_IDS)
def test_every_optimizer_survives_deepcopy_and_pickle_mid_window_and_steps_identically(name, kwargs, how):
    params = make_params()
    optimizer = build_optimizer(name, params, lr=0.01, **kwargs)
    train_steps(optimizer, params, 7, seed=0)  # mid-window for keep_num 10
    if how == "deepcopy":
        params_copy, optimizer_copy = copy.deepcopy((params, optimizer))
    else:
        params_copy, optimizer_copy = pickle.loads(pickle.dumps((params, optimizer)))
    train_steps(optimizer, params, 5, seed=1)
    train_steps(optimizer_copy, params_copy, 5, seed=1)
    for a, b in zip(params, params_copy):
        assert torch.equal(a, b)


def on_path(path: str, run):
    """``run(optimizer kwargs)`` on one of STEP_PATHS, or on the Triton kernels under the interpreter."""
    if path == "triton":
        with _on_triton():
            return run({})
    return run(PATHS[path])


def odd_params():
    """Empty, 0-dim, channels_last 4-D and non-contiguous parameters in one group."""
    torch.manual_seed(5)
    empty = torch.zeros(0, 3, requires_grad=True)
    scalar = torch.tensor(0.7, requires_grad=True)
    conv = torch.randn(2, 3, 4, 5).to(memory_format=torch.channels_last).requires_grad_()
    strided = torch.randn(6, 4).t().requires_grad_()  # a transposed view: not contiguous
    assert conv.is_contiguous(memory_format=torch.channels_last) and not strided.is_contiguous()
    return [empty, scalar, conv, strided]


def odd_steps(name, kwargs, path_kwargs, steps=12):
    params = odd_params()
    optimizer = build_optimizer(name, params, lr=0.01, **kwargs, **path_kwargs)
    generator = torch.Generator().manual_seed(0)
    for _ in range(steps):
        for p in params:
            p.grad = torch.randn(p.shape, generator=generator, dtype=p.dtype).to(memory_format=torch.contiguous_format) \
                if p.dim() != 4 else torch.randn(p.shape, generator=generator).to(memory_format=torch.channels_last)
        optimizer.step()
    return params


@pytest.mark.parametrize("path", [*STEP_PATHS, "triton"])
@pytest.mark.parametrize("name,kwargs", ALL_CONFIGS, ids=CONFIG_IDS)
def test_empty_scalar_channels_last_and_strided_params_in_one_group_step_on_every_path(name, kwargs, path):
    reference = odd_steps(name, kwargs, {"foreach": False, "fused": False})
    got = on_path(path, lambda path_kwargs: odd_steps(name, kwargs, path_kwargs))
    for a, b in zip(got, reference):
        assert a.shape == b.shape and torch.isfinite(a).all()
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert got[2].is_contiguous(memory_format=torch.channels_last)  # the layout is kept


def damaged_copy(tmp_path, benchmark_dir: str) -> Path:
    root = tmp_path / "copy"
    target = root / "results" / Path(benchmark_dir).relative_to("results")
    target.parent.mkdir(parents=True)
    import shutil

    shutil.copytree(ROOT / benchmark_dir, target)
    return root


def run_module(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.mark.integration  # runs a trainer or a benchmark's summary (seconds each)
@pytest.mark.parametrize("module,benchmark_dir", [
    (["gan.benchmark", "--benchmark", "fmnist-critic"], "results/gan/fmnist-critic"),
    (["nmt", "benchmark", "--benchmark", "bible-cpu"], "results/nmt/bible-cpu")])
def test_a_damaged_row_stops_the_summary_with_one_line_naming_the_file(tmp_path, module, benchmark_dir):
    root = damaged_copy(tmp_path, benchmark_dir)
    rows = sorted((root / benchmark_dir / "runs").glob("*.json"))
    truncated, keyless = rows[0], rows[1]
    truncated.write_text(truncated.read_text()[:300])
    out = run_module(*module, "--root", str(root), "--no-train")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert str(truncated) in out.stderr and "not valid JSON" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    truncated.unlink()
    row = json.loads(keyless.read_text())
    del row["seed"]
    keyless.write_text(json.dumps(row))
    out = run_module(*module, "--root", str(root), "--no-train")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert str(keyless) in out.stderr and "missing 'seed'" in out.stderr


@pytest.mark.integration  # runs a trainer or a benchmark's summary (seconds each)
def test_a_second_gan_train_on_one_out_is_refused_and_the_first_goes_on(tmp_path):
    # the first run is far longer than the test (it is killed at the end): a short one could finish
    # while the second was still importing torch on a fast machine, and the second would then resume it
    out = tmp_path / "run"
    args = [sys.executable, "-m", "gan.train", "--dataset", "8gaussians", "--iterations", "10000000", "--width", "16",
            "--batch-size", "32", "--log-every", "10", "--eval-every", "1000000", "--eval-samples", "200",
            "--out", str(out)]
    first = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        from suite_results import locks
        import time

        deadline = time.time() + 300  # generous: a busy machine (sweeps beside) is slow to import torch
        while not locks.is_held(out) and time.time() < deadline and first.poll() is None:
            time.sleep(0.2)
        assert locks.is_held(out), first.stderr.read() if first.poll() is not None else "the first never held its out"
        second = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert second.returncode == 2 and "Traceback" not in second.stderr, second.stderr
        assert f"{out} is in use by process {first.pid}" in second.stderr
        assert first.poll() is None and locks.is_held(out)  # the first goes on, still the writer
    finally:
        first.kill()
        first.communicate(timeout=60)


@pytest.mark.integration  # runs a trainer or a benchmark's summary (seconds each)
def test_a_finished_gan_run_invoked_again_writes_no_new_events_file(tmp_path):
    out = tmp_path / "run"
    args = ["gan.train", "--dataset", "8gaussians", "--iterations", "20", "--width", "16", "--batch-size", "32",
            "--log-every", "5", "--eval-every", "20", "--eval-samples", "200", "--out", str(out)]
    first = run_module(*args)
    assert first.returncode == 0 and "\r" not in first.stderr  # off a terminal: no progress-bar refreshes
    events = sorted(out.glob("events.out.tfevents.*"))
    for _ in range(3):
        again = run_module(*args)
        assert again.returncode == 0, again.stderr
        json.loads(again.stdout.strip().splitlines()[-1])  # strict JSON (no NaN/Infinity)
    assert sorted(out.glob("events.out.tfevents.*")) == events


@pytest.mark.integration  # runs a trainer or a benchmark's summary (seconds each)
def test_a_resumed_gan_sweep_keeps_its_throughput_as_strict_json(tmp_path):
    from gan.sweep import iterations_per_second
    from suite_results.scalars import Scalar

    events = [Scalar(s, 0.0, t) for s, t in ((10, 0.0), (20, 1.0), (30, 2.0), (40, 5000.0), (50, 5001.0))]
    assert iterations_per_second(events) == pytest.approx(10.0)  # the pause between invocations is left out
    assert iterations_per_second(events[:1]) is None
    from suite_results.files import finite_or_none

    assert json.dumps(finite_or_none({"a": float("nan"), "b": [float("inf"), 1.5]}), allow_nan=False) == \
        '{"a": null, "b": [null, 1.5]}'


def test_no_checked_in_result_holds_an_absolute_path():
    """A result's command is one a reader can paste: relative paths, the venv's tools by name."""
    import re

    listed = subprocess.run(["git", "ls-files", "results"], capture_output=True, text=True, cwd=ROOT).stdout.split()
    offenders = []
    for name in listed:
        if name.endswith(".json"):
            text = (ROOT / name).read_text(encoding="utf-8")
            offenders += [f"{name}: {m}" for m in re.findall(r'"(/(?:work|root|home|tmp|usr)/[^"]{0,60})', text)]
            offenders += [f"{name}: {m}" for m in re.findall(r"[ =](/(?:work|root|home|tmp)/\S{0,60})", text)]
    assert not offenders, offenders[:5]


def test_portable_commands_name_tools_and_relative_paths(tmp_path):
    from suite_results.cli import portable_command

    words = ["/x/.venv/bin/fairseq-train", str(tmp_path / "data" / "bin"), "--adam-betas", "(0.9, 0.98)", "/elsewhere"]
    assert portable_command(words, tmp_path) == "fairseq-train data/bin --adam-betas '(0.9, 0.98)' /elsewhere"


def test_portable_paths_are_relative_to_the_root_when_under_it(tmp_path):
    from suite_results.cli import portable_path

    assert portable_path(tmp_path / "runs" / "x", tmp_path) == "runs/x"
    assert portable_path("/elsewhere/x", tmp_path) == "/elsewhere/x"  # not under the root: as given
    assert portable_path("runs/x", tmp_path) == "runs/x"  # already relative


def scheduled_run(name, kwargs, path_kwargs, steps=120, seed=0, cycle_beta1=True):
    """float64; every hyperparameter changes every step: lr and beta1 by OneCycleLR (momentum
    cycling), beta2, eps and weight decay by hand."""
    torch.manual_seed(seed)
    params = [torch.randn(s, dtype=torch.float64, requires_grad=True) for s in ((4, 3), (6,), (2, 2, 3))]
    optimizer = build_optimizer(name, params, lr=0.01, **kwargs, **path_kwargs)
    has_betas = "betas" in optimizer.defaults
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.02, total_steps=steps,
                                                    cycle_momentum=has_betas and cycle_beta1,
                                                    base_momentum=0.8, max_momentum=0.95)
    generator = torch.Generator().manual_seed(seed + 1)
    for t in range(steps):
        for group in optimizer.param_groups:
            if has_betas and len(group["betas"]) == 2:  # AdamNC's is (beta1,): its beta2 is 1 - 1/t
                group["betas"] = (group["betas"][0], 0.99 + 0.005 * ((t % 7) / 7))
            group["eps"] = 1e-8 * (1 + t % 3)
            group["weight_decay"] = 0.01 * (t % 2)
        for p in params:
            p.grad = torch.randn(p.shape, generator=generator, dtype=torch.float64)
        optimizer.step()
        scheduler.step()
    return params


SCHEDULED = [(n, kw) for n, kw in ALL_CONFIGS if not (n == "adashift" and kw.get("betas", (0.9,))[0] == 0.0)]


@pytest.mark.parametrize("path", [*STEP_PATHS, "triton"])
@pytest.mark.parametrize("name,kwargs", SCHEDULED, ids=[f"{n}-{'-'.join(map(str, kw.values()))}" for n, kw in SCHEDULED])
def test_every_path_follows_the_reference_path_when_every_hyperparameter_changes_every_step(name, kwargs, path):
    """The reference path (fused=False, per tensor) recomputes what it needs from the state each
    step, as the rule is written (AdaShift: m from the window with the current beta1); every other
    path must agree in float64 although lr, beta1, beta2, eps and weight decay change every step."""
    reference = scheduled_run(name, kwargs, {"foreach": False, "fused": False})
    got = on_path(path, lambda path_kwargs: scheduled_run(name, kwargs, path_kwargs))
    for a, b in zip(got, reference):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)


def test_adamnc_takes_momentum_cycling_schedulers_and_its_beta1_follows_them():
    """OneCycleLR and CyclicLR rewrite group["betas"][0]; AdamNC keeps beta1 there as (beta1,)."""
    for make in (lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.02, total_steps=10),
                 lambda o: torch.optim.lr_scheduler.CyclicLR(o, 0.001, 0.02, step_size_up=3, cycle_momentum=True,
                                                             base_momentum=0.8, max_momentum=0.95)):
        p = torch.zeros(3, requires_grad=True)
        optimizer = build_optimizer("adamnc", [p], lr=0.01, beta1=0.9)
        scheduler, seen = make(optimizer), set()
        for _ in range(6):
            p.grad = torch.ones(3)
            optimizer.step()
            scheduler.step()
            seen.add(optimizer.param_groups[0]["betas"])
        assert len(seen) > 2 and all(len(b) == 1 and 0.8 <= b[0] <= 0.95 for b in seen)


def test_adamnc_refuses_a_beta2_and_loads_a_state_dict_with_the_older_beta1_key():
    p = torch.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match=r"Invalid betas: \(0.9, 0.99\) for AdamNC .*1 - 1/t"):
        build_optimizer("adamnc", [p]).add_param_group({"params": [torch.zeros(2)], "betas": (0.9, 0.99)})
    optimizer = build_optimizer("adamnc", [p], lr=0.01, beta1=0.5)
    p.grad = torch.ones(3)
    optimizer.step()
    saved = optimizer.state_dict()
    old = {**saved, "param_groups": [{**{k: v for k, v in g.items() if k != "betas"}, "beta1": g["betas"][0]}
                                     for g in saved["param_groups"]]}
    fresh = build_optimizer("adamnc", [p], lr=0.01)
    fresh.load_state_dict(old)
    assert fresh.param_groups[0]["betas"] == (0.5,) and "beta1" not in fresh.param_groups[0]


def test_adashift_resumed_mid_schedule_rebuilds_a_running_sum_of_another_beta1():
    """Saved after a step with beta1 0.9, resumed with beta1 0.5: the sum is rebuilt for 0.5."""
    def run(resume):
        torch.manual_seed(0)
        p = torch.randn(5, dtype=torch.float64, requires_grad=True)
        opt = build_optimizer("adashift", [p], lr=0.01, keep_num=4, reduce="none", betas=(0.9, 0.999))
        g = torch.Generator().manual_seed(1)
        for t in range(10):
            if t == 6:
                opt.param_groups[0]["betas"] = (0.5, 0.999)
                if resume:
                    saved = copy.deepcopy(opt.state_dict())
                    opt = build_optimizer("adashift", [p], lr=0.01, keep_num=4, reduce="none", betas=(0.5, 0.999))
                    opt.load_state_dict(saved)
            p.grad = torch.randn(5, generator=g, dtype=torch.float64)
            opt.step()
        return p
    reference = run(False)
    torch.testing.assert_close(run(True), reference, rtol=1e-12, atol=1e-14)
