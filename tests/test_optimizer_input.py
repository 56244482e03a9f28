"""Bad input to the optimizers: malformed state dicts, foreign optimizers, bad groups, NaN gradients.

Each case ends in a Python exception naming the problem (or the documented behaviour), never a
crash. The fuzz test and the direct kernel calls run in a subprocess, so a segfault fails the
test instead of killing pytest.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import textwrap
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch

from optim_plugins import AMSGrad, Adam, AdamNC, AdaShift, _native, _triton, build_optimizer
from test_optimizers import ALL_CONFIGS, CONFIG_IDS, make_params, roundtrip, train_steps

ROOT = Path(__file__).resolve().parents[1]


def trained(name, kwargs, steps=3, **extra):
    params = make_params()
    optimizer = build_optimizer(name, params, lr=0.01, **kwargs, **extra)
    train_steps(optimizer, params, steps, seed=0)
    return params, optimizer


def snapshot(optimizer):
    return copy.deepcopy({"groups": [{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups],
                          "state": [dict(s) for s in optimizer.state.values()]})


def assert_unchanged(before, optimizer):
    after = snapshot(optimizer)
    assert before["groups"] == after["groups"]
    for a, b in zip(before["state"], after["state"]):
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# -- 1, 2: state tensors that do not fit ---------------------------------------------------------

def _mutations(name, kwargs):
    """(label, function that breaks a deep copy of the state dict in place)."""
    def each_state(fn):
        return lambda sd: [fn(s) for s in sd["state"].values()]

    def resize(key, shape_fn):
        return each_state(lambda s: s.__setitem__(key, torch.zeros(shape_fn(s[key]), dtype=s[key].dtype)))

    yield "fewer elements", resize("exp_avg_sq", lambda t: (max(t.numel() - 1, 0),) if t.dim() else (2,))
    yield "wrong shape", resize("exp_avg_sq", lambda t: (*t.shape, 2))
    yield "integer dtype", each_state(lambda s: s.__setitem__("exp_avg_sq", s["exp_avg_sq"].long()))
    yield "missing key", each_state(lambda s: s.pop("exp_avg_sq"))
    yield "extra key", each_state(lambda s: s.__setitem__("momentum_buffer", torch.zeros(1)))
    yield "negative step", each_state(lambda s: s.__setitem__("step", torch.tensor(-3.0)))
    yield "NaN step", each_state(lambda s: s.__setitem__("step", torch.tensor(float("nan"))))
    yield "state not a dict", lambda sd: sd["state"].__setitem__(0, [1, 2])
    yield "too few params", lambda sd: sd["param_groups"][0]["params"].pop()
    yield "no param_groups", lambda sd: sd.pop("param_groups")
    yield "lr -1", lambda sd: sd["param_groups"][0].__setitem__("lr", -1.0)
    if name == "adashift":
        window = "window_phi" if kwargs["reduce"] != "none" and kwargs.get("betas", (0.9,))[0] == 0 else "window"
        yield "window shrunk", resize(window, lambda t: (t.shape[0] - 1 or 1, *t.shape[1:]) if t.shape[0] > 1
                                      else (t.shape[0], t.shape[1] - 1, *t.shape[2:]))
        other = "max" if kwargs["reduce"] == "none" else "none"
        yield "reduce changed", lambda sd: sd["param_groups"][0].__setitem__("reduce", other)
        yield "keep_num changed", lambda sd: sd["param_groups"][0].__setitem__("keep_num", kwargs["keep_num"] + 2)
        yield "active_since after step", each_state(lambda s: s["active_since"].fill_(1e6))
    else:
        yield "beta1 1.5", lambda sd: sd["param_groups"][0].__setitem__(
            *(("betas", (1.5,)) if name == "adamnc" else ("betas", (1.5, 0.9))))


@pytest.mark.parametrize("name,kwargs", ALL_CONFIGS, ids=CONFIG_IDS)
def test_malformed_state_dicts_are_refused_before_anything_changes(name, kwargs):
    _, source = trained(name, kwargs)
    good = roundtrip(source.state_dict())
    for label, mutate in _mutations(name, kwargs):
        bad = copy.deepcopy(good)
        mutate(bad)
        _, target = trained(name, kwargs, steps=2)
        before = snapshot(target)
        with pytest.raises(ValueError, match="Cannot load into"):
            target.load_state_dict(bad)
        assert_unchanged(before, target)
        train_steps(target, target.param_groups[0]["params"], 1, seed=5)  # still usable


@pytest.mark.parametrize("kwargs", [{"reduce": "none"}, {"reduce": "max"}])
def test_changing_reduce_mid_run_is_refused_on_every_path(kwargs):
    for path in ({}, {"fused": False}, {"foreach": False, "fused": False}):
        params, optimizer = trained("adashift", {"keep_num": 3, **kwargs}, **path)
        optimizer.param_groups[0]["reduce"] = "mean" if kwargs["reduce"] == "none" else "none"
        with pytest.raises(ValueError, match="reduce cannot change"):
            train_steps(optimizer, params, 1, seed=1)
        with pytest.raises(ValueError, match="reduce"):
            optimizer.check_state()


def test_float64_state_into_a_float32_model_is_cast_as_torch_does():
    params64 = make_params(torch.float64)
    source = AdaShift(params64, lr=0.01, keep_num=3, reduce="none")
    train_steps(source, params64, 4, seed=0)
    params32 = [p.detach().float().requires_grad_() for p in params64]
    target = AdaShift(params32, lr=0.01, keep_num=3, reduce="none")
    target.load_state_dict(roundtrip(source.state_dict()))
    assert all(v.dtype == torch.float32 for s in target.state.values() for v in s.values())
    train_steps(source, params64, 3, seed=1)
    train_steps(target, params32, 3, seed=1)
    for a, b in zip(params64, params32):
        torch.testing.assert_close(a.float(), b, rtol=1e-5, atol=1e-6)


# -- 4: another optimizer's state dict, invalid hyperparameters, bad groups ---------------------

@pytest.mark.parametrize("source,target", [
    (("adam", {}), ("adashift", {"keep_num": 3})), (("adashift", {"keep_num": 3}), ("adam", {})),
    (("adamnc", {}), ("adam", {})), (("adam", {}), ("adamnc", {})), (("adam", {}), ("amsgrad", {})),
    (("adashift", {"keep_num": 3}), ("adamnc", {})),
])
@pytest.mark.parametrize("steps", [0, 2])
def test_another_optimizers_state_dict_is_refused_naming_both(source, target, steps):
    _, saved = trained(*source, steps=steps)
    params, optimizer = trained(*target, steps=1)
    before = snapshot(optimizer)
    # Adam and AMSGrad without state: told apart by their groups' amsgrad flag (torch.optim.Adam's)
    with pytest.raises(ValueError) as error:
        optimizer.load_state_dict(saved.state_dict())
    message = str(error.value)
    assert type(optimizer).__name__ in message and type(saved).__name__ in message, message
    assert_unchanged(before, optimizer)
    train_steps(optimizer, params, 1, seed=2)


def test_torch_adam_state_dict_still_loads():
    params = make_params()
    reference = torch.optim.Adam(params, lr=0.01)
    train_steps(reference, params, 2, seed=0)
    ours = Adam(make_params(), lr=0.01)
    ours.load_state_dict(roundtrip(reference.state_dict()))
    amsgrad = torch.optim.Adam(make_params(), lr=0.01, amsgrad=True)
    train_steps(amsgrad, amsgrad.param_groups[0]["params"], 2, seed=0)
    AMSGrad(make_params(), lr=0.01).load_state_dict(roundtrip(amsgrad.state_dict()))
    with pytest.raises(ValueError, match="amsgrad"):  # AMSGrad state into plain Adam: its flag, then its max
        Adam(make_params(), lr=0.01).load_state_dict(roundtrip(amsgrad.state_dict()))


@pytest.mark.parametrize("name,kwargs", ALL_CONFIGS, ids=CONFIG_IDS)
def test_a_bad_param_group_is_not_added(name, kwargs):
    params, optimizer = trained(name, kwargs, steps=1)
    extra = torch.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match="lr"):
        optimizer.add_param_group({"params": [extra], "lr": -1.0})
    assert len(optimizer.param_groups) == 1
    train_steps(optimizer, params, 1, seed=1)


# -- 5: non-finite gradients in AdaShift --------------------------------------------------------

PATHS = {"reference": {"fused": False}, "per-tensor": {"fused": False, "foreach": False}, "fast": {},
         "fast-multi-tensor": {}, "triton": {}}  # triton: its kernels on CPU tensors, under the interpreter


@pytest.mark.parametrize("reduce", ["none", "max", "mean"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
@pytest.mark.parametrize("at_step", [2, 6])  # before the gates open (t <= n) and after
def test_adashift_non_finite_gradient_shows_in_the_parameters_identically_on_every_path(reduce, bad, at_step):
    """As torch.optim.Adam: the NaN/inf reaches the parameter (visibly) instead of closing its gate
    for good. Every path makes the same elements non-finite at the same step and agrees on the rest
    (a non-finite value may read NaN on one path and inf on another: the O(1) running sum
    subtracts inf from inf where the reference recomputes the window)."""
    trajectories = {}
    for path, options in PATHS.items():
        if path == "triton" and not _triton.interpreted():
            continue  # with CUDA the Triton kernels run in the CUDA tests instead
        with mock.patch.object(_native, "cpu_kernels", (lambda: None) if path in ("fast-multi-tensor", "triton")
                               else _native.cpu_kernels), mock.patch.object(_triton, "ON_CPU", path == "triton"):
            params = make_params()
            optimizer = AdaShift(params, lr=0.01, keep_num=3, reduce=reduce, **options)
            generator, seen = torch.Generator().manual_seed(0), []
            for t in range(1, 12):
                for p in params:
                    p.grad = torch.randn(p.shape, generator=generator)
                if t == at_step:
                    params[1].grad[0] = bad
                optimizer.step()
                seen.append([p.detach().clone() for p in params])
            trajectories[path] = seen
    final = trajectories["reference"][-1][1]
    assert not torch.isfinite(final[0]), "the bad element must not stay silently frozen"
    if reduce == "none":
        assert torch.isfinite(final[1:]).all()  # elementwise: only the element that saw it
    for path, seen in trajectories.items():
        for t, (expected, got) in enumerate(zip(trajectories["reference"], seen), 1):
            for a, b in zip(expected, got):
                assert torch.equal(torch.isfinite(a), torch.isfinite(b)), f"{path} step {t}"
                finite = torch.isfinite(a)
                torch.testing.assert_close(a[finite], b[finite], rtol=1e-5, atol=1e-6, msg=f"{path} step {t}")


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_loaded_adashift_window_with_non_finite_values_steps_as_the_reference_does(bad):
    """A diverged run's checkpoint (non-finite window) loads and steps on the fast path as on the
    reference path (which recomputes every sum from the window): the stale-sum check must not fail
    on the window's non-finite scale (found by the fuzz below)."""
    params = make_params()
    source = AdaShift(params, lr=0.01, keep_num=3, reduce="none")
    train_steps(source, params, 4, seed=0)
    for state in source.state.values():
        state["window"][0].fill_(bad)
    saved, finals = roundtrip(source.state_dict()), []
    for fused in (None, False):  # the fast path, the reference
        target_params = [p.detach().clone().requires_grad_() for p in params]
        target = AdaShift(target_params, lr=0.01, keep_num=3, reduce="none", fused=fused)
        target.load_state_dict(copy.deepcopy(saved))
        train_steps(target, target_params, 2, seed=1)
        finals.append(target_params)
    for a, b in zip(*finals):
        assert torch.equal(torch.isfinite(a), torch.isfinite(b))
        torch.testing.assert_close(a[torch.isfinite(a)], b[torch.isfinite(b)])
    assert not all(torch.isfinite(p).all() for p in finals[0])  # the bad value shows, as in torch.optim


# -- 11: parameters and numbers -----------------------------------------------------------------

@pytest.mark.parametrize("name", ["adam", "amsgrad", "adamal", "adamnc", "adashift"])
@pytest.mark.parametrize("dtype", [torch.complex64, torch.int64])
def test_complex_and_integer_parameters_are_refused(name, dtype):
    with pytest.raises(ValueError, match=str(dtype)):
        build_optimizer(name, [torch.zeros(3, dtype=dtype)])


def test_numpy_scalars_are_accepted_and_stored_as_python_numbers():
    params = make_params()
    optimizer = AdaShift(params, lr=np.float32(0.01), betas=(np.float32(0.9), np.float64(0.99)),
                         keep_num=np.int64(3), eps=np.float32(1e-8))
    group = optimizer.param_groups[0]
    assert type(group["lr"]) is float and type(group["keep_num"]) is int
    assert all(type(b) is float for b in group["betas"])
    train_steps(optimizer, params, 4, seed=0)
    AdaShift(make_params(), keep_num=3).load_state_dict(roundtrip(optimizer.state_dict()))  # weights_only
    AdamNC(make_params(), lr=np.float64(0.01), beta1=np.float32(0.5))


# -- fuzz and kernels, in a subprocess ----------------------------------------------------------

FUZZ = textwrap.dedent("""
    import copy, random, sys
    import torch
    sys.path.insert(0, {tests!r})
    from optim_plugins import build_optimizer
    from test_optimizers import ALL_CONFIGS, make_params, roundtrip, train_steps

    rng = random.Random(0)

    def broken(value):
        choice = rng.randrange(7)
        if choice == 0: return torch.zeros(rng.randrange(0, 30))
        if choice == 1: return value.long() if torch.is_tensor(value) else 3
        if choice == 2: return torch.zeros([rng.randrange(1, 5) for _ in range(rng.randrange(0, 4))])
        if choice == 3: return value.double() if torch.is_tensor(value) else value
        if choice == 4: return torch.full_like(value, float("nan")) if torch.is_tensor(value) and value.is_floating_point() else None
        if choice == 5: return value.t() if torch.is_tensor(value) and value.dim() == 2 else "text"
        return torch.randn(3, 4)

    refused = accepted = 0
    for trial in range(400):
        name, kwargs = ALL_CONFIGS[trial % len(ALL_CONFIGS)]
        params = make_params()
        source = build_optimizer(name, params, lr=0.01, **kwargs)
        train_steps(source, params, rng.randrange(1, 5), seed=trial)
        sd = copy.deepcopy(roundtrip(source.state_dict()))
        for _ in range(rng.randrange(1, 4)):
            states = [s for s in sd["state"].values() if isinstance(s, dict)] or [dict()]
            state = rng.choice(states)
            key = rng.choice(list(state) + ["extra"])
            kind = rng.randrange(4)
            if kind == 0: state[key] = broken(state.get(key, torch.zeros(1)))
            elif kind == 1: state.pop(key, None)
            elif kind == 2:
                group = sd["param_groups"][0]
                hyper = rng.choice([k for k in group if k != "params"])
                group[hyper] = rng.choice([-1.0, float("nan"), 0, 7, "max", None, (2.0, 0.5), 100])
            else: sd["state"][rng.randrange(-1, 5)] = broken(torch.zeros(2))
        target_params = make_params()
        target = build_optimizer(name, target_params, lr=0.01, **kwargs)
        try:
            target.load_state_dict(sd)
        except (ValueError, TypeError, KeyError) as error:
            refused += 1
            continue
        accepted += 1
        train_steps(target, target_params, 2, seed=1)  # whatever was accepted must run
    print("refused", refused, "accepted", accepted)
""")


@pytest.mark.integration
def test_fuzzed_state_dicts_raise_python_errors_never_crash():
    result = subprocess.run([sys.executable, "-c", FUZZ.format(tests=str(ROOT / "tests"))], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-3000:]}"
    refused = int(result.stdout.split()[1])
    assert refused >= 300, result.stdout  # nearly every mutation breaks the dict


KERNEL_CALLS = textwrap.dedent("""
    import torch
    from optim_plugins import _native
    k = _native.cpu_kernels()
    p, g = torch.zeros(10), torch.zeros(10)
    small = torch.zeros(3)
    window, table = torch.zeros(2, 10), torch.ones(8)
    no_off = torch.empty(0, dtype=torch.long)
    calls = {
        "adamal short state": lambda: k.adamal_group_step([p, p.clone()], [g, g], [p.clone(), small],
                                                          [p.clone(), small], 0.1, 0.9, 0.99, 1e-8, 0.0, False, 0.1, 0.1),
        "adamal non-contiguous": lambda: k.adamal_group_step([p], [g], [torch.zeros(20)[::2]], [p.clone()], 0.1, 0.9,
                                                             0.99, 1e-8, 0.0, False, 0.1, 0.1),
        "adamal lists of different lengths": lambda: k.adamal_group_step([p, p.clone()], [g], [p.clone()], [p.clone()],
                                                                         0.1, 0.9, 0.99, 1e-8, 0.0, False, 0.1, 0.1),
        "adopt mixed dtypes": lambda: k.adopt_group_step([p, p.double()], [g, g.double()], [p.clone(), p.double()],
                                                         [p.clone(), p.double()], 0.1, 0.9, 0.99, 1e-8, 0.0, False,
                                                         False, 1.0),
        "elementwise short window": lambda: k.adashift_elementwise_group_step(
            [p], [g], [torch.zeros(2, 3)], 0, [p.clone()], [p.clone()], [p.clone()], table, 1, 0.1, 0.0, 0.0, 0.9,
            1e-8, 0.0, False, 1.0, [0], [0.0], [no_off]),
        "elementwise slot outside": lambda: k.adashift_elementwise_group_step(
            [p], [g], [window], 5, [p.clone()], [p.clone()], [p.clone()], table, 1, 0.1, 0.0, 0.0, 0.9, 1e-8, 0.0,
            False, 1.0, [0], [0.0], [no_off]),
        "elementwise double state": lambda: k.adashift_elementwise_group_step(
            [p], [g], [window], 0, [p.double()], [p.clone()], [p.clone()], table, 1, 0.1, 0.0, 0.0, 0.9, 1e-8, 0.0,
            False, 1.0, [0], [0.0], [no_off]),
        "elementwise lists of different lengths": lambda: k.adashift_elementwise_group_step(
            [p, p.clone()], [g, g], [window, window.clone()], 0, [p.clone()], [p.clone()] * 2, [p.clone()] * 2,
            table, 1, 0.1, 0.0, 0.0, 0.9, 1e-8, 0.0, False, 1.0, [0, 0], [0.0, 0.0], [no_off] * 2),
        "elementwise second tensor short": lambda: k.adashift_elementwise_group_step(
            [p, p.clone()], [g, g], [window, window.clone()], 0, None, [p.clone(), small], [p.clone()] * 2,
            table, 1, 0.1, 0.0, 0.0, 0.9, 1e-8, 0.0, False, 1.0, [0, 0], [0.0, 0.0], [no_off] * 2),
        "elementwise mode outside": lambda: k.adashift_elementwise_group_step(
            [p], [g], [window], 0, [p.clone()], [p.clone()], [p.clone()], table, 1, 0.1, 0.0, 0.0, 0.9, 1e-8, 0.0,
            False, 1.0, [7], [0.0], [no_off]),
        "elementwise no sum with beta1": lambda: k.adashift_elementwise_group_step(
            [p], [g], [window], 0, None, [p.clone()], [p.clone()], table, 1, 0.1, 0.9, 0.0, 0.9, 1e-8, 0.0,
            False, 1.0, [0], [0.0], [no_off]),
        "elementwise off index outside": lambda: k.adashift_elementwise_group_step(
            [p], [g], [window], 0, [p.clone()], [p.clone()], [p.clone()], table, 1, 0.1, 0.0, 0.0, 0.9, 1e-8, 0.0,
            False, 1.0, [2], [0.0], [torch.tensor([3, 10])]),
        "elementwise off int32": lambda: k.adashift_elementwise_group_step(
            [p], [g], [window], 0, [p.clone()], [p.clone()], [p.clone()], table, 1, 0.1, 0.0, 0.0, 0.9, 1e-8, 0.0,
            False, 1.0, [2], [0.0], [torch.tensor([3], dtype=torch.int32)]),
        "elementwise off with the general loop": lambda: k.adashift_elementwise_group_step(
            [p], [g], [window], 0, [p.clone()], [p.clone()], [p.clone()], table, 1, 0.1, 0.0, 0.0, 0.9, 1e-8, 0.0,
            False, 1.0, [0], [0.0], [torch.tensor([3])]),
        "reduced vector v": lambda: k.adashift_reduced_group_step(
            [p], [g], [window], 0, [p.clone()], [torch.zeros(2)], [small], [torch.zeros(1)], 1, 0.1, 0.0, 0.0, 0.9,
            1e-8, 0.0, False, 1.0, True),
        "reduced short phi": lambda: k.adashift_reduced_group_step(
            [p], [g], [window], 1, [p.clone()], [torch.zeros(1)], [torch.zeros(())], [torch.zeros(())], 1, 0.1, 0.0,
            0.0, 0.9, 1e-8, 0.0, False, 1.0, True),
        "reduced lean short phi": lambda: k.adashift_reduced_group_step(
            [p], [g], None, 3, None, [torch.zeros(2)], [torch.zeros(())], [torch.zeros(())], 1, 0.1, 0.0, 0.0, 0.9,
            1e-8, 0.0, False, 1.0, True),
        "reduced second tensor short grad": lambda: k.adashift_reduced_group_step(
            [p, p.clone()], [g, small], [window, window.clone()], 0, [p.clone(), p.clone()], [torch.zeros(2)] * 2,
            [torch.zeros(())] * 2, [torch.zeros(())] * 2, 1, 0.1, 0.0, 0.0, 0.9, 1e-8, 0.0, False, 1.0, True),
    }
    for name, call in calls.items():
        try:
            call()
        except RuntimeError as error:
            assert "optim_plugins kernel" in str(error), (name, error)
            print("refused:", name)
        else:
            raise SystemExit(f"accepted: {name}")
""")


@pytest.mark.integration
@pytest.mark.skipif(_native.cpu_kernels() is None, reason="no C++ compiler: the CPU kernels are not built")
def test_kernels_refuse_mismatched_buffers_themselves():
    result = subprocess.run([sys.executable, "-c", KERNEL_CALLS], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, f"exit {result.returncode}: {result.stdout}{result.stderr[-3000:]}"
    assert result.stdout.count("refused:") == 18
