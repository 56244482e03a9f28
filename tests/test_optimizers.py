"""Every update rule against an independent float64 reference, torch itself, and its own invariants."""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import io
import itertools
import logging
import shutil
from unittest import mock

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from optim_plugins import ADOPT, AMSGrad, Adam, AdamAL, AdamNC, AdaShift, _native, _triton, build_optimizer
from reference_optimizers import Maximizing, ReferenceAdam, ReferenceAdamNC, ReferenceADOPT, ReferenceAdaShift

SHAPES = [(4, 3), (6,), (2, 2, 3)]
STEPS = 60
LATE_TENSOR, LATE_STEPS = 2, 5  # tensor 2 gets zero gradients during its first 5 steps
ZERO_STEP = 20  # every gradient is zero at this step
STAGGERED_TENSOR = 0  # element e of tensor 0 gets zero gradients during its first e steps


def gradient_sequence(params, steps=STEPS, seed=0):
    """Yield gradients of a random quadratic at the given (evolving) params, with zero phases."""
    rng = np.random.default_rng(seed)
    targets = [rng.normal(size=s) for s in SHAPES]
    scales = [rng.uniform(0.1, 3.0, size=s) for s in SHAPES]
    for t in range(1, steps + 1):
        grads = []
        for i, (p, target, scale) in enumerate(zip(params(), targets, scales)):
            g = scale * (p - target) + rng.normal(scale=0.5, size=p.shape)
            if (i == LATE_TENSOR and t <= LATE_STEPS) or t == ZERO_STEP:
                g = np.zeros_like(g)
            if i == STAGGERED_TENSOR:  # element e starts at step e + 1: AdaShift's gates open apart
                g = np.where(np.arange(g.size).reshape(g.shape) >= t, 0.0, g)
            grads.append(g)
        yield t, grads


def initial_params(seed=1):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s) for s in SHAPES]


PATHS = {"foreach": {"foreach": True, "fused": False}, "per-tensor": {"foreach": False, "fused": False},
         "fast": {},  # {} = the defaults: the fast path where the optimizer has one (CPU kernels)
         "fast-multi-tensor": {},  # the defaults with the CPU kernels unavailable
         "triton": {}}  # the defaults with the Triton kernels on CPU tensors, under Triton's interpreter


def run_against_reference(make_optimizer, reference, path):
    if path == "fast-multi-tensor":
        with mock.patch.object(_native, "cpu_kernels", lambda: None):
            return run_against_reference(make_optimizer, reference, "fast")
    if path == "triton":
        if not _triton.interpreted() or importlib.util.find_spec("triton") is None:
            pytest.skip("the Triton kernels run on CPU tensors only under TRITON_INTERPRET=1 (tests/conftest.py)")
        with mock.patch.object(_native, "cpu_kernels", lambda: None), mock.patch.object(_triton, "ON_CPU", True):
            return run_against_reference(make_optimizer, reference, "fast")
    start = initial_params()
    tensors = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in start]
    optimizer = make_optimizer(tensors, PATHS[path])
    for t, grads in gradient_sequence(lambda: reference.p):
        for tensor, g in zip(tensors, grads):
            tensor.grad = torch.tensor(g)
        optimizer.step()
        reference.step(grads)
        for tensor, expected in zip(tensors, reference.p):
            np.testing.assert_allclose(tensor.detach().numpy(), expected, rtol=1e-10, atol=1e-12,
                                       err_msg=f"step {t}")


ADAM_LIKE = {"adam": (Adam, {}), "amsgrad": (AMSGrad, {"amsgrad": True}),
             "adamal": (AdamAL, {"max_ema": True})}
WEIGHT_DECAY = [(0.0, False), (0.1, False), (0.1, True)]


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("weight_decay,decoupled", WEIGHT_DECAY)
@pytest.mark.parametrize("name", list(ADAM_LIKE))
def test_adam_family_matches_reference(name, weight_decay, decoupled, path):
    cls, flags = ADAM_LIKE[name]
    hp = dict(lr=0.05, betas=(0.9, 0.99), eps=1e-8, weight_decay=weight_decay)
    reference = ReferenceAdam(initial_params(), decoupled=decoupled, **hp, **flags)
    run_against_reference(
        lambda ps, kw: cls(ps, decoupled_weight_decay=decoupled, **kw, **hp), reference, path)


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("beta1_decay,lr_decay,weight_decay", [(1.0, True, 0.0), (0.9, False, 0.0),
                                                                (0.95, True, 0.05)])
def test_adamnc_matches_reference(beta1_decay, lr_decay, weight_decay, path):
    hp = dict(lr=0.05, beta1=0.9, beta1_decay=beta1_decay, eps=1e-8, lr_decay=lr_decay,
              weight_decay=weight_decay)
    reference = ReferenceAdamNC(initial_params(), **hp)
    run_against_reference(lambda ps, kw: AdamNC(ps, **kw, **hp), reference, path)


ADOPT_SETTINGS = [  # (betas, clip_exponent, weight_decay, decoupled); eps large enough to bind on zero v
    ((0.9, 0.9999), 0.25, 0.0, False), ((0.9, 0.5), None, 0.0, False), ((0.0, 0.99), 0.5, 0.1, False),
    ((0.9, 0.999), 0.25, 0.1, True), ((0.5, 0.9), 0.0, 0.0, False),
]


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("betas,clip_exponent,weight_decay,decoupled", ADOPT_SETTINGS)
def test_adopt_matches_reference(betas, clip_exponent, weight_decay, decoupled, path):
    """Includes the first call (v only), zero-gradient phases (v = 0: eps binds) and the clip."""
    hp = dict(lr=0.05, betas=betas, eps=1e-3, weight_decay=weight_decay, clip_exponent=clip_exponent)
    reference = ReferenceADOPT(initial_params(), decoupled=decoupled, **hp)
    run_against_reference(lambda ps, kw: ADOPT(ps, decoupled_weight_decay=decoupled, **kw, **hp), reference, path)


MAXIMIZE_CASES = {  # one setting per update rule, with coupled weight decay (the negation comes first)
    "adam": (lambda ps, kw: Adam(ps, lr=0.05, betas=(0.9, 0.99), weight_decay=0.1, maximize=True, **kw),
             lambda: ReferenceAdam(initial_params(), lr=0.05, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1)),
    "amsgrad": (lambda ps, kw: AMSGrad(ps, lr=0.05, betas=(0.9, 0.99), maximize=True, **kw),
                lambda: ReferenceAdam(initial_params(), lr=0.05, betas=(0.9, 0.99), eps=1e-8, amsgrad=True)),
    "adamal": (lambda ps, kw: AdamAL(ps, lr=0.05, betas=(0.9, 0.99), decoupled_weight_decay=True, weight_decay=0.1,
                                     maximize=True, **kw),
               lambda: ReferenceAdam(initial_params(), lr=0.05, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1,
                                     decoupled=True, max_ema=True)),
    "adamnc": (lambda ps, kw: AdamNC(ps, lr=0.05, beta1=0.9, maximize=True, **kw),
               lambda: ReferenceAdamNC(initial_params(), lr=0.05, beta1=0.9, beta1_decay=1.0, eps=1e-8, lr_decay=True,
                                       weight_decay=0.0)),
    "adopt": (lambda ps, kw: ADOPT(ps, lr=0.05, betas=(0.9, 0.99), eps=1e-3, maximize=True, **kw),
              lambda: ReferenceADOPT(initial_params(), lr=0.05, betas=(0.9, 0.99), eps=1e-3, clip_exponent=0.25)),
    "adashift-none": (lambda ps, kw: AdaShift(ps, lr=0.05, betas=(0.9, 0.99), keep_num=3, reduce="none", maximize=True,
                                              **kw),
                      lambda: ReferenceAdaShift(initial_params(), lr=0.05, betas=(0.9, 0.99), keep_num=3, reduce="none",
                                                eps=1e-10)),
    "adashift-max": (lambda ps, kw: AdaShift(ps, lr=0.05, betas=(0.0, 0.99), keep_num=3, reduce="max", maximize=True,
                                             **kw),
                     lambda: ReferenceAdaShift(initial_params(), lr=0.05, betas=(0.0, 0.99), keep_num=3, reduce="max",
                                               eps=1e-10)),
}


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("name", list(MAXIMIZE_CASES))
def test_maximize_matches_the_reference_on_every_path(name, path):
    make, reference = MAXIMIZE_CASES[name]
    run_against_reference(make, Maximizing(reference()), path)


@pytest.mark.parametrize("fused", [None, False])
def test_adopt_first_call_moves_nothing_and_clips_large_normalised_gradients(fused):
    param = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    optimizer = ADOPT([param], lr=1.0, betas=(0.0, 0.5), eps=1e-6, clip_exponent=0.25, fused=fused)
    param.grad = torch.tensor([1.0, 0.0, -2.0], dtype=torch.float64)
    optimizer.step()
    assert torch.equal(param.detach(), torch.zeros(3, dtype=torch.float64))
    assert torch.equal(optimizer.state[param]["exp_avg_sq"], param.grad**2)
    param.grad = torch.tensor([3.0, 1.0, -2.0], dtype=torch.float64)  # normalised: 3, 1e6, -1
    optimizer.step()  # s = 1: clip to [-1, 1]; beta1 0: p = -m
    assert torch.equal(param.detach(), torch.tensor([-1.0, -1.0, 1.0], dtype=torch.float64))
    assert torch.allclose(optimizer.state[param]["exp_avg_sq"], torch.tensor([5.0, 0.5, 4.0], dtype=torch.float64))


ADASHIFT_MODES = list(itertools.product(["none", "max", "mean"], [1, 3, 10], [0.0, 0.9]))


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("reduce,keep_num,beta1", ADASHIFT_MODES)
def test_adashift_matches_reference(reduce, keep_num, beta1, path):
    hp = dict(lr=0.05, betas=(beta1, 0.99), keep_num=keep_num, reduce=reduce, eps=1e-10)
    reference = ReferenceAdaShift(initial_params(), **hp)
    run_against_reference(lambda ps, kw: AdaShift(ps, **kw, **hp), reference, path)


def test_adashift_beyond_its_bias_correction_table_takes_the_multi_tensor_path(monkeypatch):
    """The CPU kernel reads 1 - beta2^k from a table; past its cap the multi-tensor path takes over."""
    from optim_plugins import adashift

    monkeypatch.setattr(adashift, "TABLE_CAP", 1 << 10)  # tables reach 2^10 + 1 entries only
    hp = dict(lr=0.05, betas=(0.9, 0.9999), keep_num=3, reduce="none", eps=1e-10)
    assert adashift._bias_correction_table(0.9999, torch.float64, 1000) is not None
    assert adashift._bias_correction_table(0.9999, torch.float64, 1100) is None
    param = torch.tensor(initial_params()[0], requires_grad=True)
    reference = ReferenceAdaShift([initial_params()[0]], **hp)
    optimizer = AdaShift([param], **hp)
    generator = np.random.default_rng(0)
    for t in range(1, 1101):
        g = generator.normal(size=param.shape)
        param.grad = torch.tensor(g)
        optimizer.step()
        reference.step([g])
        if t in (1000, 1100):
            np.testing.assert_allclose(param.detach().numpy(), reference.p[0], rtol=1e-9, err_msg=f"step {t}")


@pytest.mark.parametrize("decoupled", [False, True])
def test_adashift_weight_decay_matches_reference(decoupled):
    hp = dict(lr=0.05, betas=(0.9, 0.99), keep_num=3, reduce="none", eps=1e-10, weight_decay=0.1)
    reference = ReferenceAdaShift(initial_params(), decoupled=decoupled, **hp)
    for path in PATHS:
        reference = ReferenceAdaShift(initial_params(), decoupled=decoupled, **hp)
        run_against_reference(
            lambda ps, kw: AdaShift(ps, decoupled_weight_decay=decoupled, **kw, **hp), reference, path)


def test_adashift_moves_nothing_until_its_window_fills():
    param = torch.nn.Parameter(torch.ones(5))
    optimizer = AdaShift([param], lr=0.1, keep_num=4)
    for _ in range(4):
        param.grad = torch.randn(5)
        optimizer.step()
        assert torch.equal(param.detach(), torch.ones(5))
    param.grad = torch.randn(5)
    optimizer.step()
    assert not torch.equal(param.detach(), torch.ones(5))


def test_adashift_zero_gradient_rows_do_not_move():
    """An embedding row never seen keeps v = 0 and must not be divided by eps (reduce='none')."""
    embedding = torch.nn.Embedding(10, 4)
    before = embedding.weight.detach().clone()
    optimizer = AdaShift(embedding.parameters(), lr=0.1, keep_num=2, reduce="none")
    for _ in range(6):
        optimizer.zero_grad()
        embedding(torch.tensor([1, 2, 3])).sum().backward()
        optimizer.step()
    after = embedding.weight.detach()
    assert torch.equal(after[4:], before[4:])
    assert not torch.equal(after[1:4], before[1:4])
    assert torch.isfinite(after).all()


def _stuck_gradients(shapes, steps, seed=0):
    """Gradients where a few elements stay exactly zero for ever (an embedding's padding row) and a
    few start late, the rest dense: tensor 0's other elements open together, tensor 1's at two steps."""
    rng = np.random.default_rng(seed)
    for t in range(1, steps + 1):
        grads = [rng.normal(size=s) for s in shapes]
        flat = grads[0].reshape(-1)  # a view: the kernel lists elements by their flat index
        flat[:3] = 0.0
        flat[7] *= t >= 20
        flat[9] *= t >= 35
        grads[1][5] = 0.0
        grads[1][100:150] *= t >= 4
        yield t, grads


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("beta1", [0.9, 0.0])
def test_adashift_kernel_finishes_the_elements_still_off_after_its_fast_loop(beta1, dtype, monkeypatch):
    """A tensor with a few elements whose gradient stays zero runs the kernel's fast loop and the
    fix-up of those elements (not the general loop every step): against the float64 reference, and
    bit for bit against the general loop, through a re-anchoring step and late openings."""
    from optim_plugins import adashift

    if _native.cpu_kernels() is None:
        pytest.skip("the CPU kernels are unavailable here")
    shapes, steps = [(40, 25), (200,)], 60
    hp = dict(lr=0.01, betas=(beta1, 0.99), keep_num=3, reduce="none", eps=1e-10)
    start = [np.random.default_rng(1).normal(size=s) for s in shapes]

    def run(fraction):
        monkeypatch.setattr(adashift, "OFF_LIST_FRACTION", fraction)
        params = [torch.tensor(x, dtype=dtype, requires_grad=True) for x in start]
        optimizer = AdaShift(params, **hp)
        optimizer.reanchor_every = 25
        listed, reference = [], ReferenceAdaShift(start, **hp)
        kernels = _native.cpu_kernels()

        class Spy:
            def __getattr__(self, name):
                return getattr(kernels, name)

            def adashift_elementwise_group_step(self, *args):
                listed.append([off.numel() for off in args[-1]])
                return kernels.adashift_elementwise_group_step(*args)

        with mock.patch.object(_native, "cpu_kernels", lambda: Spy()):
            for t, grads in _stuck_gradients(shapes, steps):
                for p, g in zip(params, grads):
                    p.grad = torch.tensor(g, dtype=dtype)
                optimizer.step()
                reference.step(grads)
                if dtype == torch.float64:
                    for p, expected in zip(params, reference.p):
                        np.testing.assert_allclose(p.detach().numpy(), expected, rtol=1e-10, atol=1e-12,
                                                   err_msg=f"step {t}")
        return params, listed

    fast, listed = run(1 / 16)
    assert listed[10] == [5, 1] and listed[40] == [3, 1]  # the 3 stuck elements and the two late ones listed
    assert listed[24] == [0, 0]  # a re-anchoring step (25) runs the general loop and lists again
    general, none_listed = run(0.0)
    assert all(n == [0, 0] for n in none_listed)
    for a, b in zip(fast, general):
        assert torch.equal(a, b)
    assert torch.equal(fast[0].detach().view(-1)[:3], torch.tensor(start[0].reshape(-1)[:3], dtype=dtype))


# -- against torch itself -------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("foreach", [True, False])
@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("weight_decay,decoupled", WEIGHT_DECAY)
def test_adam_and_amsgrad_equal_torch(amsgrad, weight_decay, decoupled, foreach, dtype):
    torch.manual_seed(0)
    ours = [torch.randn(s, dtype=dtype, requires_grad=True) for s in SHAPES]
    theirs = [p.detach().clone().requires_grad_() for p in ours]
    hp = dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=weight_decay,
              decoupled_weight_decay=decoupled, foreach=foreach)
    mine = (AMSGrad if amsgrad else Adam)(ours, fused=False, **hp)
    torch_opt = torch.optim.Adam(theirs, amsgrad=amsgrad, **hp)
    for step in range(50):
        grads = [torch.randn(s, dtype=dtype) * (step % 7 != 3) for s in SHAPES]
        for a, b, g in zip(ours, theirs, grads):
            a.grad, b.grad = g.clone(), g.clone()
        mine.step()
        torch_opt.step()
        for a, b in zip(ours, theirs):
            assert torch.equal(a, b), f"step {step}: max diff {(a - b).abs().max()}"


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("weight_decay,decoupled", WEIGHT_DECAY)
def test_default_fast_path_equals_torch_fused_adam(amsgrad, weight_decay, decoupled):
    torch.manual_seed(0)
    ours = [torch.randn(s, requires_grad=True) for s in SHAPES]
    theirs = [p.detach().clone().requires_grad_() for p in ours]
    hp = dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=weight_decay,
              decoupled_weight_decay=decoupled)
    mine = (AMSGrad if amsgrad else Adam)(ours, **hp)
    torch_opt = torch.optim.Adam(theirs, amsgrad=amsgrad, fused=True, **hp)
    for step in range(30):
        for a, b in zip(ours, theirs):
            a.grad = torch.randn_like(a) * (step % 5 != 2)
            b.grad = a.grad.clone()
        mine.step()
        torch_opt.step()
    for a, b in zip(ours, theirs):
        assert torch.equal(a, b)


def test_adamw_equals_torch_adamw():
    torch.manual_seed(0)
    ours = [torch.randn(s, dtype=torch.float64, requires_grad=True) for s in SHAPES]
    theirs = [p.detach().clone().requires_grad_() for p in ours]
    mine = Adam(ours, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, fused=False)
    torch_opt = torch.optim.AdamW(theirs, lr=0.01, weight_decay=0.1)
    for _ in range(30):
        for a, b in zip(ours, theirs):
            a.grad = torch.randn_like(a)
            b.grad = a.grad.clone()
        mine.step()
        torch_opt.step()
    for a, b in zip(ours, theirs):
        assert torch.equal(a, b)


def test_torch_adam_state_dict_loads_into_ours():
    torch.manual_seed(0)
    param = torch.randn(7, requires_grad=True)
    twin = param.detach().clone().requires_grad_()
    torch_opt = torch.optim.Adam([param], lr=0.01, amsgrad=True)
    for _ in range(5):
        param.grad = torch.randn(7)
        torch_opt.step()
    twin.data.copy_(param.data)
    mine = AMSGrad([twin], lr=0.01, fused=False)
    mine.load_state_dict(roundtrip(torch_opt.state_dict()))
    for _ in range(5):
        param.grad = torch.randn(7)
        twin.grad = param.grad.clone()
        torch_opt.step()
        mine.step()
    assert torch.equal(param, twin)


# -- invariants (hypothesis) --------------------------------------------------------------------

gradient_lists = st.lists(
    st.lists(st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False), min_size=3, max_size=3),
    min_size=1, max_size=30,
)


@settings(max_examples=40, deadline=None)
@given(gradients=gradient_lists, beta2=st.floats(0.0, 0.999))
@example(gradients=[[0.0, 0.0, 7.0], [0.0, 0.0, 0.0]], beta2=0.47850680133874807)  # found by hypothesis:
# the literal AdamAL form rounded beta2 v + (1 - beta2) v one ulp below v
def test_amsgrad_and_adamal_second_moment_never_decreases(gradients, beta2):
    for cls, key in [(AMSGrad, "max_exp_avg_sq"), (AdamAL, "exp_avg_sq")]:
        param = torch.zeros(3, dtype=torch.float64, requires_grad=True)
        optimizer = cls([param], lr=1e-3, betas=(0.9, beta2))
        previous = torch.zeros(3, dtype=torch.float64)
        for g in gradients:
            param.grad = torch.tensor(g, dtype=torch.float64)
            optimizer.step()
            current = optimizer.state[param][key]
            assert (current >= previous).all(), (cls.__name__, previous, current)
            previous = current.clone()


@settings(max_examples=40, deadline=None)
@given(history=gradient_lists, g_a=gradient_lists.map(lambda x: x[0]),
       g_b=gradient_lists.map(lambda x: x[0]), keep_num=st.integers(1, 5),
       reduce=st.sampled_from(["none", "max", "mean"]))
def test_adashift_v_does_not_depend_on_current_gradient(history, g_a, g_b, keep_num, reduce):
    def v_after(last_gradient):
        param = torch.zeros(3, dtype=torch.float64, requires_grad=True)
        optimizer = AdaShift([param], lr=1e-3, keep_num=keep_num, reduce=reduce)
        for g in [*history, last_gradient]:
            param.grad = torch.tensor(g, dtype=torch.float64)
            optimizer.step()
        return optimizer.state[param]["exp_avg_sq"]

    assert torch.equal(v_after(g_a), v_after(g_b))


# -- paths, precisions, groups --------------------------------------------------------------------

ALL_CONFIGS = [
    ("adam", {}), ("amsgrad", {}), ("adamal", {}), ("adamnc", {}),
    ("adashift", {"keep_num": 10, "reduce": "none"}), ("adashift", {"keep_num": 3, "reduce": "max"}),
    ("adashift", {"keep_num": 4, "reduce": "mean", "betas": (0.0, 0.9)}),
    ("adopt", {}), ("adopt", {"clip_exponent": None, "betas": (0.9, 0.99)}),
    ("adashift", {"keep_num": 3, "reduce": "none", "betas": (0.0, 0.9)}),  # the lean "none" layout (no sum)
]
CONFIG_IDS = [f"{n}-{'-'.join(map(str, kw.values()))}" for n, kw in ALL_CONFIGS]


def train_steps(optimizer, params, steps, seed):
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        for p in params:
            p.grad = torch.randn(p.shape, generator=generator).to(device=p.device, dtype=p.dtype)
        optimizer.step()


def make_params(dtype=torch.float32, device="cpu"):
    torch.manual_seed(3)
    return [torch.randn(s, dtype=dtype, device=device, requires_grad=True) for s in SHAPES]


@pytest.mark.parametrize("name,kwargs", ALL_CONFIGS, ids=CONFIG_IDS)
def test_foreach_and_per_tensor_paths_agree(name, kwargs):
    a, b = make_params(), make_params()
    train_steps(build_optimizer(name, a, lr=0.01, foreach=True, fused=False, **kwargs), a, 25, seed=0)
    train_steps(build_optimizer(name, b, lr=0.01, foreach=False, fused=False, **kwargs), b, 25, seed=0)
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name,kwargs", ALL_CONFIGS, ids=CONFIG_IDS)
def test_fast_path_equals_reference_path_in_float32(name, kwargs):
    a, b = make_params(), make_params()
    train_steps(build_optimizer(name, a, lr=0.01, **kwargs), a, 150, seed=0)
    train_steps(build_optimizer(name, b, lr=0.01, fused=False, **kwargs), b, 150, seed=0)
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(shutil.which("c++") is None, reason="no C++ compiler")
def test_cpu_kernels_build_where_a_compiler_exists():
    """Without this, a broken build would leave the "fast" tests checking the fallback only."""
    assert _native.cpu_kernels() is not None


def test_cpu_kernels_fall_back_with_one_logged_warning(monkeypatch, caplog):
    def failing_build():
        raise RuntimeError("Error building extension: g++ not found")

    monkeypatch.setattr(_native, "_state", {})
    monkeypatch.setattr(_native, "_build", failing_build)
    param = torch.ones(3, requires_grad=True)
    optimizer = AdamAL([param], lr=0.1)
    with caplog.at_level(logging.WARNING, logger="optim_plugins"):
        for _ in range(3):
            param.grad = torch.ones(3)
            optimizer.step()
    warnings = [r for r in caplog.records if "CPU kernels unavailable" in r.getMessage()]
    assert len(warnings) == 1 and "g++ not found" in warnings[0].getMessage()
    assert torch.all(param < 1)  # the multi-tensor path took the steps


def test_turning_the_cpu_kernels_off_warns_once(monkeypatch, caplog):
    monkeypatch.setattr(_native, "_state", {})
    monkeypatch.setenv("OPTIM_PLUGINS_NATIVE", "0")
    param = torch.ones(3, requires_grad=True)
    optimizer = AdaShift([param], lr=0.1, keep_num=1)
    with caplog.at_level(logging.WARNING, logger="optim_plugins"):
        for _ in range(3):
            param.grad = torch.ones(3)
            optimizer.step()
    warnings = [r for r in caplog.records if "OPTIM_PLUGINS_NATIVE=0" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING


@pytest.mark.slow  # 10^5 steps
@pytest.mark.parametrize("kernels", ["compiled", "multi-tensor"])
def test_adashift_running_window_sum_drift_stays_below_1e_6(kernels, monkeypatch):
    """10^5 float32 steps of the O(1) update (called directly, lr 0): the running sum against the
    exact window sum, just before each re-anchoring (where drift is largest) and at the end."""
    from optim_plugins import _native
    from optim_plugins._tensor_ops import FOREACH
    from optim_plugins.adashift import AdaShiftHyper, AdaShiftState, adashift_update, exact_window_sums

    if kernels == "multi-tensor":
        monkeypatch.setattr(_native, "cpu_kernels", lambda: None)
    elif _native.cpu_kernels() is None:
        pytest.skip("the CPU kernels cannot be built here")
    n, beta1, size, every = 40, 0.9, 64, AdaShift.reanchor_every
    param, window, v, since, running = (torch.zeros(size), torch.zeros(n, size), torch.zeros(size),
                                        torch.zeros(size), torch.zeros(size))
    generator = torch.Generator().manual_seed(1)
    gradients = torch.randn(100_000, size, generator=generator)
    gradients[::97] *= 10  # occasional large gradients
    worst = 0.0
    for step in range(1, 100_001):
        adashift_update(FOREACH, [param], [gradients[step - 1]],
                        AdaShiftState([v], [since], window=[window], window_sum=[running]),
                        AdaShiftHyper(lr=0.0, beta1=beta1, beta2=0.999, keep_num=n, reduce="none", eps=1e-10),
                        step, fast=True, reanchor_every=every)
        if step % every == every - 1 or step == 100_000:
            exact = exact_window_sums([window.double()], beta1, n, (step - 1) % n, torch.float64)[0]
            worst = max(worst, ((running.double() - exact).abs().max() / exact.abs().max()).item())
    assert worst < 1e-6, worst


def test_bfloat16_window_halves_memory_and_tracks_the_float32_window():
    a, b = make_params(), make_params()
    low = AdaShift(a, lr=0.01, keep_num=8, window_dtype=torch.bfloat16)
    train_steps(low, a, 40, seed=0)
    train_steps(AdaShift(b, lr=0.01, keep_num=8), b, 40, seed=0)
    for p in a:
        assert low.state[p]["window"].dtype == torch.bfloat16
        assert low.state[p]["window"].element_size() * 2 == p.element_size()
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y, rtol=0.02, atol=0.02)
    with pytest.raises(ValueError, match="window_dtype"):
        AdaShift(a, window_dtype=torch.int8)


@pytest.mark.parametrize("name,kwargs", ALL_CONFIGS, ids=CONFIG_IDS)
def test_bfloat16_params_keep_float32_state_and_follow_float32(name, kwargs):
    low, full = make_params(torch.bfloat16), make_params(torch.float32)
    opt_low = build_optimizer(name, low, lr=0.01, **kwargs)
    train_steps(opt_low, low, 15, seed=0)
    train_steps(build_optimizer(name, full, lr=0.01, **kwargs), full, 15, seed=0)
    for p in low:
        assert p.dtype == torch.bfloat16
        for key, value in opt_low.state[p].items():
            assert value.dtype == torch.float32, key
    for x, y in zip(low, full):
        torch.testing.assert_close(x.float(), y, rtol=0.05, atol=0.05)


def test_param_groups_use_their_own_hyperparameters():
    a, b = make_params(), make_params()
    grouped = AdaShift([{"params": a[:1], "lr": 0.1, "keep_num": 2}, {"params": a[1:]}], lr=0.01,
                       keep_num=5)
    train_steps(grouped, a, 12, seed=0)
    first = AdaShift(b[:1], lr=0.1, keep_num=2)
    rest = AdaShift(b[1:], lr=0.01, keep_num=5)
    generator = torch.Generator().manual_seed(0)
    for _ in range(12):
        for p in b:
            p.grad = torch.randn(p.shape, generator=generator)
        first.step()
        rest.step()
    for x, y in zip(a, b):
        assert torch.equal(x, y)


# -- resume -------------------------------------------------------------------------------------


def roundtrip(state_dict, map_location=None):
    buffer = io.BytesIO()
    torch.save(state_dict, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True, map_location=map_location)


def check_resume(name, kwargs, dtype=torch.float32, device="cpu", k=7):
    straight = make_params(dtype)
    train_steps(build_optimizer(name, straight, lr=0.01, **kwargs), straight, 2 * k, seed=0)

    first_half = make_params(dtype)
    optimizer = build_optimizer(name, first_half, lr=0.01, **kwargs)
    generator = torch.Generator().manual_seed(0)
    for _ in range(k):
        for p in first_half:
            p.grad = torch.randn(p.shape, generator=generator).to(dtype)
        optimizer.step()
    saved = roundtrip({"params": [p.detach() for p in first_half], "optim": optimizer.state_dict()},
                      map_location=device)
    resumed = [p.clone().requires_grad_() for p in saved["params"]]
    fresh = build_optimizer(name, resumed, lr=0.01, **kwargs)
    fresh.load_state_dict(saved["optim"])
    for _ in range(k):
        for p in resumed:
            p.grad = torch.randn(p.shape, generator=generator).to(dtype).to(device)
        fresh.step()
    for x, y in zip(straight, resumed):
        assert torch.equal(x, y.cpu())


@pytest.mark.parametrize("name,kwargs", ALL_CONFIGS, ids=CONFIG_IDS)
def test_resume_mid_run_is_bit_exact(name, kwargs):
    check_resume(name, kwargs)  # k = 7: in the middle of a 10-slot window


@pytest.mark.parametrize("k", [1, 2])
def test_adopt_resume_across_its_first_step_is_bit_exact(k):
    check_resume("adopt", {}, k=k)  # k = 1: saved after the call that only sets v
    check_resume("adopt", {}, dtype=torch.bfloat16, k=k)


@pytest.mark.parametrize("name,kwargs", ALL_CONFIGS[4:6], ids=CONFIG_IDS[4:6])
def test_resume_bfloat16_is_bit_exact(name, kwargs):
    check_resume(name, kwargs, dtype=torch.bfloat16)


def _on_triton():
    """A context where the fast path is the Triton kernels on CPU tensors (under the interpreter)."""
    if not _triton.interpreted() or importlib.util.find_spec("triton") is None:
        pytest.skip("the Triton kernels run on CPU tensors only under TRITON_INTERPRET=1 (tests/conftest.py)")
    stack = contextlib.ExitStack()
    stack.enter_context(mock.patch.object(_native, "cpu_kernels", lambda: None))
    stack.enter_context(mock.patch.object(_triton, "ON_CPU", True))
    return stack


@pytest.mark.parametrize("name,kwargs", [c for c in ALL_CONFIGS if c[0] in ("adamal", "adashift", "adopt")],
                         ids=[i for c, i in zip(ALL_CONFIGS, CONFIG_IDS) if c[0] in ("adamal", "adashift", "adopt")])
def test_triton_path_runs_its_kernels_and_resumes_mid_window_bit_exact(name, kwargs):
    from optim_plugins import _triton_kernels

    with _on_triton():
        kernel = {"adamal": "adamal_update", "adopt": "adopt_update", "adashift": "adashift_update"}[name]
        with mock.patch.object(_triton_kernels, kernel, wraps=getattr(_triton_kernels, kernel)) as spy:
            check_resume(name, kwargs)  # k = 7: in the middle of a 10-slot window
        assert spy.call_count == 4 * 7  # every step: 14 straight, 7 before the save, 7 after


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA: the Triton kernels natively")
@pytest.mark.parametrize("name,kwargs", [c for c in ALL_CONFIGS if c[0] in ("adamal", "adashift", "adopt")],
                         ids=[i for c, i in zip(ALL_CONFIGS, CONFIG_IDS) if c[0] in ("adamal", "adashift", "adopt")])
def test_triton_kernels_on_cuda_follow_the_cpu_reference_path(name, kwargs):
    from optim_plugins import _triton_kernels

    cpu, gpu = make_params(), [p.detach().cuda().requires_grad_() for p in make_params()]
    train_steps(build_optimizer(name, cpu, lr=0.01, fused=False, **kwargs), cpu, 25, seed=0)
    kernel = {"adamal": "adamal_update", "adopt": "adopt_update", "adashift": "adashift_update"}[name]
    with mock.patch.object(_triton_kernels, kernel, wraps=getattr(_triton_kernels, kernel)) as spy:
        train_steps(build_optimizer(name, gpu, lr=0.01, **kwargs), gpu, 25, seed=0)
    assert spy.call_count == 25
    for x, y in zip(cpu, gpu):
        torch.testing.assert_close(x, y.cpu(), rtol=1e-4, atol=1e-5)


def test_triton_path_leaves_a_bfloat16_window_to_the_multi_tensor_path():
    from optim_plugins import _triton_kernels

    with _on_triton(), mock.patch.object(_triton_kernels, "adashift_update") as spy:
        params = make_params()
        train_steps(AdaShift(params, lr=0.01, keep_num=3, window_dtype=torch.bfloat16), params, 4, seed=0)
    assert spy.call_count == 0 and all(torch.isfinite(p).all() for p in params)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA for a CPU -> CUDA resume")
@pytest.mark.parametrize("name,kwargs", ALL_CONFIGS, ids=CONFIG_IDS)
def test_resume_from_cpu_onto_cuda(name, kwargs):
    """Saved on the CPU, resumed on CUDA: the state moves to the GPU and the run continues as the
    uninterrupted CPU run does, within float rounding (the CUDA kernels round differently)."""
    straight = make_params()
    train_steps(build_optimizer(name, straight, lr=0.01, **kwargs), straight, 6, seed=0)
    half = make_params()
    optimizer = build_optimizer(name, half, lr=0.01, **kwargs)
    generator = torch.Generator().manual_seed(0)
    for _ in range(3):
        for p in half:
            p.grad = torch.randn(p.shape, generator=generator)
        optimizer.step()
    saved = roundtrip(optimizer.state_dict(), map_location="cuda")
    on_gpu = [p.detach().cuda().requires_grad_() for p in half]
    fresh = build_optimizer(name, on_gpu, lr=0.01, **kwargs)
    fresh.load_state_dict(saved)
    assert all(v.device.type == "cuda" for s in fresh.state.values() for k, v in s.items() if k != "step")
    for _ in range(3):  # steps 4-6 of the same gradient stream as the straight run
        for p in on_gpu:
            p.grad = torch.randn(p.shape, generator=generator).cuda()
        fresh.step()
    for x, y in zip(straight, on_gpu):
        torch.testing.assert_close(x, y.cpu(), rtol=1e-5, atol=1e-6)


def test_changing_keep_num_mid_run_is_refused():
    param = torch.zeros(3, requires_grad=True)
    optimizer = AdaShift([param], keep_num=3)
    train_steps(optimizer, [param], 2, seed=0)
    optimizer.param_groups[0]["keep_num"] = 5
    with pytest.raises(ValueError, match="keep_num"):
        train_steps(optimizer, [param], 1, seed=0)


# -- bad input ---------------------------------------------------------------------------------

BAD_HYPERPARAMETERS = [
    (Adam, {"lr": -1.0}, "lr"), (Adam, {"betas": (1.0, 0.9)}, "beta1"),
    (Adam, {"betas": (0.9, -0.1)}, "beta2"), (Adam, {"eps": 0.0}, "eps"),
    (Adam, {"weight_decay": -0.1}, "weight_decay"), (AMSGrad, {"betas": (0.9, 1.5)}, "beta2"),
    (AdamAL, {"lr": float("nan")}, "lr"), (AdamNC, {"beta1": 1.0}, "beta1"),
    (AdamNC, {"beta1_decay": 0.0}, "beta1_decay"), (AdaShift, {"keep_num": 0}, "keep_num"),
    (AdaShift, {"keep_num": 2.5}, "keep_num"), (AdaShift, {"reduce": "sum"}, "reduce"),
    (AdaShift, {"eps": -1e-10}, "eps"), (Adam, {"betas": 0.9}, "betas"),
]


@pytest.mark.parametrize("cls,kwargs,name", BAD_HYPERPARAMETERS)
def test_bad_hyperparameters_raise_naming_the_value(cls, kwargs, name):
    bad_value = next(iter(kwargs.values()))
    with pytest.raises(ValueError, match=name) as error:
        cls([torch.zeros(2, requires_grad=True)], **kwargs)
    shown = [bad_value] if not isinstance(bad_value, tuple) else list(bad_value)
    assert any(repr(v) in str(error.value) for v in shown)


def test_bad_hyperparameter_in_a_later_param_group_is_refused():
    optimizer = AdaShift([torch.zeros(2, requires_grad=True)])
    with pytest.raises(ValueError, match="keep_num"):
        optimizer.add_param_group({"params": [torch.zeros(2, requires_grad=True)], "keep_num": -3})


@pytest.mark.parametrize("name", ["adam", "amsgrad", "adamnc", "adashift", "adamal"])
def test_sparse_gradients_are_refused(name):
    embedding = torch.nn.Embedding(5, 3, sparse=True)
    optimizer = build_optimizer(name, embedding.parameters())
    embedding(torch.tensor([1])).sum().backward()
    with pytest.raises(RuntimeError, match="sparse gradients"):
        optimizer.step()


def test_build_optimizer_rejects_unknown_names_and_hyperparameters():
    with pytest.raises(ValueError, match="adashift"):
        build_optimizer("adamw2", [torch.zeros(1, requires_grad=True)])
    with pytest.raises(ValueError, match="keep_num"):
        build_optimizer("adam", [torch.zeros(1, requires_grad=True)], keep_num=3)
    sgd = build_optimizer("SGD", [torch.zeros(1, requires_grad=True)])
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["momentum"] == 0.9


# -- AdaShift's lean layouts (beta1 = 0) -------------------------------------------------------------

@pytest.mark.parametrize("reduce", ["max", "mean", "none"])
@pytest.mark.parametrize("fused", [None, False])
@pytest.mark.parametrize("decay", [(0.0, False), (0.05, False), (0.05, True)])
def test_adashift_lean_layout_equals_the_windowed_layout_bit_for_bit(reduce, fused, decay, monkeypatch):
    from optim_plugins import adashift

    kwargs = dict(lr=0.01, betas=(0.0, 0.9), keep_num=4, reduce=reduce, fused=fused, weight_decay=decay[0],
                  decoupled_weight_decay=decay[1])
    lean_params, windowed_params = make_params(), make_params()
    lean = AdaShift(lean_params, **kwargs)
    train_steps(lean, lean_params, 30, seed=0)
    monkeypatch.setattr(adashift, "lean_layout", lambda group: False)
    windowed = AdaShift(windowed_params, **kwargs)
    train_steps(windowed, windowed_params, 30, seed=0)
    lean_keys, windowed_keys = set(next(iter(lean.state.values()))), set(next(iter(windowed.state.values())))
    assert "window_sum" not in lean_keys and "window_sum" in windowed_keys
    assert ("window" in lean_keys) == (reduce == "none") and "window" in windowed_keys
    for a, b in zip(lean_params, windowed_params):
        assert torch.equal(a, b)


def test_adashift_lean_layout_state_is_under_one_byte_per_parameter():
    model = torch.nn.Sequential(torch.nn.Linear(512, 2048), torch.nn.Linear(2048, 512))
    optimizer = AdaShift(model.parameters(), betas=(0.0, 0.9), keep_num=40, reduce="max")
    for p in model.parameters():
        p.grad = torch.randn_like(p)
    optimizer.step()
    state_bytes = sum(v.numel() * v.element_size() for s in optimizer.state.values() for v in s.values())
    parameters = sum(p.numel() for p in model.parameters())
    assert state_bytes / parameters < 1.0, state_bytes / parameters


def test_adashift_lean_none_layout_keeps_the_window_but_no_running_sum():
    params = make_params()
    optimizer = AdaShift(params, betas=(0.0, 0.9), keep_num=5, reduce="none")
    train_steps(optimizer, params, 2, seed=0)
    for p in params:  # the window of gradients (5 slots), v and active_since: 4 (5 + 2) bytes per element
        assert sorted(optimizer.state[p]) == ["active_since", "exp_avg_sq", "step", "window"]
        assert sum(t.numel() * t.element_size() for t in optimizer.state[p].values() if t.dim()) == 4 * 7 * p.numel()


@pytest.mark.parametrize("reduce", ["max", "none"])
def test_adashift_beta1_cannot_switch_layout_mid_run(reduce):
    params = make_params()
    optimizer = AdaShift(params, betas=(0.0, 0.9), keep_num=3, reduce=reduce)
    train_steps(optimizer, params, 2, seed=0)
    optimizer.param_groups[0]["betas"] = (0.9, 0.9)
    with pytest.raises(ValueError, match="beta1 cannot change"):
        train_steps(optimizer, params, 1, seed=1)
    optimizer.param_groups[0]["betas"] = (0.0, 0.9)
    saved = optimizer.state_dict()
    saved["param_groups"][0]["betas"] = (0.9, 0.9)  # a dict whose groups and state disagree
    with pytest.raises(ValueError, match="window"):
        AdaShift(make_params(), betas=(0.9, 0.9), keep_num=3, reduce=reduce).load_state_dict(saved)
