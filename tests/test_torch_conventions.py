"""torch.optim's generic optimizer checks, played over every optimizer of the suite.

The behaviours torch checks for each of its own optimizers (``torch/testing/_internal/common_optimizers.py``
and ``test/test_optim.py``): load_state_dict pre- and post-hooks, older state dicts without
``foreach``/``fused``/``maximize``, tensor lr, deepcopy, repr, parameters without gradients,
``add_param_group``, step hooks, a ``weights_only`` round trip, and the options these optimizers refuse
(``capturable``, ``differentiable``) with a reason.
"""

from __future__ import annotations

import copy
import io

import pytest
import torch

from optim_plugins import OPTIMIZERS, build_optimizer

CONFIGS = [("adam", {}), ("amsgrad", {}), ("adamal", {}), ("adamnc", {}), ("adopt", {}),
           ("adashift", {"keep_num": 3, "reduce": "none"}), ("adashift", {"keep_num": 2, "reduce": "max"})]
IDS = [f"{n}-{kw.get('reduce', '')}".rstrip("-") for n, kw in CONFIGS]


def _params(seed=0):
    torch.manual_seed(seed)
    return [torch.randn(4, 3, requires_grad=True), torch.randn(5, requires_grad=True)]


def _steps(optimizer, params, n, seed=1):
    generator = torch.Generator().manual_seed(seed)
    for _ in range(n):
        for p in params:
            p.grad = torch.randn(p.shape, generator=generator)
        optimizer.step()


def _trained(name, kwargs, steps=4, **extra):
    params = _params()
    optimizer = build_optimizer(name, params, lr=0.01, **kwargs, **extra)
    _steps(optimizer, params, steps)
    return params, optimizer


def _first_moment(optimizer):
    """The name of a floating state tensor of the first parameter (not the step counter)."""
    state = optimizer.state[optimizer.param_groups[0]["params"][0]]
    return next(k for k, v in state.items() if k != "step" and torch.is_tensor(v) and v.is_floating_point()
                and v.numel() > 1)


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
class TestTorchConventions:
    def test_a_load_pre_hook_s_returned_dict_is_what_loads(self, name, kwargs):
        _, source = _trained(name, kwargs)
        _, target = _trained(name, kwargs, steps=1)
        key = _first_moment(source)

        def zero_it(optimizer, state_dict):
            changed = copy.deepcopy(state_dict)
            changed["state"][0][key].zero_()
            return changed

        target.register_load_state_dict_pre_hook(zero_it)
        target.load_state_dict(source.state_dict())
        assert torch.count_nonzero(target.state[target.param_groups[0]["params"][0]][key]) == 0
        assert torch.count_nonzero(source.state[source.param_groups[0]["params"][0]][key]) > 0  # caller's untouched

    def test_a_load_post_hook_has_the_last_word(self, name, kwargs):
        _, source = _trained(name, kwargs)
        _, target = _trained(name, kwargs, steps=1)
        key = _first_moment(source)

        def fill(optimizer):
            optimizer.state[optimizer.param_groups[0]["params"][0]][key].fill_(7.0)

        target.register_load_state_dict_post_hook(fill)
        target.load_state_dict(source.state_dict())
        assert torch.all(target.state[target.param_groups[0]["params"][0]][key] == 7.0)

    def test_a_pre_hook_can_repair_an_older_dict_and_cannot_smuggle_in_a_bad_one(self, name, kwargs):
        _, source = _trained(name, kwargs)
        old = source.state_dict()
        del old["param_groups"][0]["eps"]
        _, target = _trained(name, kwargs, steps=1)
        with pytest.raises(ValueError, match="eps"):
            target.load_state_dict(old)
        handle = target.register_load_state_dict_pre_hook(
            lambda optimizer, sd: {**sd, "param_groups": [{**g, "eps": source.param_groups[0]["eps"]}
                                                          for g in sd["param_groups"]]})
        target.load_state_dict(old)
        handle.remove()
        key = _first_moment(source)

        def wrong_shape(optimizer, sd):
            sd = copy.deepcopy(sd)
            sd["state"][0][key] = torch.zeros(7)
            return sd

        target.register_load_state_dict_pre_hook(wrong_shape)
        with pytest.raises(ValueError, match="shape"):
            target.load_state_dict(source.state_dict())

    @pytest.mark.parametrize("dropped", [("foreach", "fused"), ("maximize",), ("foreach", "fused", "maximize")])
    def test_an_older_state_dict_without_later_keys_loads_and_steps(self, name, kwargs, dropped):
        params, source = _trained(name, kwargs)
        old = source.state_dict()
        for group in old["param_groups"]:
            for key in (*dropped, "amsgrad"):
                group.pop(key, None)
        twin = copy.deepcopy(source)
        source.load_state_dict(old)
        assert source.param_groups[0]["maximize"] is False and source.param_groups[0]["foreach"] is None
        _steps(source, params, 2, seed=5)  # torch's test_can_load_older_state_dict: it must still step
        twin_params = twin.param_groups[0]["params"]
        _steps(twin, twin_params, 2, seed=5)
        for x, y in zip(params, twin_params):
            assert torch.equal(x, y)  # the defaults filled in are what the dict meant

    def test_tensor_lr_equals_float_lr_and_is_read_at_every_step(self, name, kwargs):
        a, b = _params(), _params()
        lr = torch.tensor(0.01, dtype=torch.float64)  # float32 would round 0.01
        with_tensor = build_optimizer(name, a, lr=lr, **kwargs)
        with_float = build_optimizer(name, b, lr=0.01, **kwargs)
        _steps(with_tensor, a, 3)
        _steps(with_float, b, 3)
        lr.fill_(0.05)  # in place, as a compiled or scheduled loop does
        with_float.param_groups[0]["lr"] = 0.05
        _steps(with_tensor, a, 3, seed=2)
        _steps(with_float, b, 3, seed=2)
        for x, y in zip(a, b):
            torch.testing.assert_close(x, y, rtol=0, atol=0)
        for bad in (torch.tensor([0.1, 0.2]), torch.tensor(float("nan")), torch.tensor(-1.0)):
            with pytest.raises(ValueError, match="Invalid lr: "):
                build_optimizer(name, _params(), lr=bad, **kwargs)

    def test_deepcopy_and_repr(self, name, kwargs):
        params, optimizer = _trained(name, kwargs)
        twin = copy.deepcopy(optimizer)
        twin_params = [p for g in twin.param_groups for p in g["params"]]
        _steps(optimizer, params, 2, seed=3)
        _steps(twin, twin_params, 2, seed=3)
        for x, y in zip(params, twin_params):
            assert torch.equal(x, y) and x is not y
        text = repr(optimizer)
        assert type(optimizer).__name__ in text and "lr: 0.01" in text and "maximize: False" in text

    def test_parameters_without_gradients_are_left_alone(self, name, kwargs):
        params = _params()
        optimizer = build_optimizer(name, params, lr=0.01, **kwargs)
        frozen = params[1].detach().clone()
        for _ in range(3):
            params[0].grad = torch.randn(params[0].shape)
            params[1].grad = None
            optimizer.step()
        assert torch.equal(params[1], frozen) and params[1] not in optimizer.state

    def test_add_param_group_with_its_own_lr(self, name, kwargs):
        params = _params()
        optimizer = build_optimizer(name, params[:1], lr=0.01, **kwargs)
        optimizer.add_param_group({"params": params[1:], "lr": 0.1})
        assert optimizer.param_groups[1]["lr"] == 0.1 and optimizer.param_groups[1]["maximize"] is False
        _steps(optimizer, params, 2)
        with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
            optimizer.add_param_group({"params": params[:1]})

    def test_step_hooks_run_around_every_step(self, name, kwargs):
        params = _params()
        optimizer = build_optimizer(name, params, lr=0.01, **kwargs)
        calls = []
        optimizer.register_step_pre_hook(lambda opt, args, kw: calls.append("pre"))
        optimizer.register_step_post_hook(lambda opt, args, kw: calls.append("post"))
        _steps(optimizer, params, 2)
        assert calls == ["pre", "post"] * 2

    def test_a_weights_only_round_trip_resumes_exactly(self, name, kwargs):
        params, optimizer = _trained(name, kwargs)
        buffer = io.BytesIO()
        torch.save(optimizer.state_dict(), buffer)
        buffer.seek(0)
        loaded = torch.load(buffer, weights_only=True)
        copies = [p.detach().clone().requires_grad_() for p in params]
        resumed = build_optimizer(name, copies, lr=0.01, **kwargs)
        resumed.load_state_dict(loaded)
        _steps(optimizer, params, 3, seed=4)
        _steps(resumed, copies, 3, seed=4)
        for x, y in zip(params, copies):
            assert torch.equal(x, y)

    @pytest.mark.parametrize("option", ["capturable", "differentiable"])
    def test_unsupported_options_are_refused_with_the_reason(self, name, kwargs, option):
        with pytest.raises(ValueError, match=f"does not support {option}=True: "):
            build_optimizer(name, _params(), lr=0.01, **kwargs, **{option: True})
        build_optimizer(name, _params(), lr=0.01, **kwargs, **{option: False})  # the default is fine

    def test_maximize_ascends(self, name, kwargs):
        p = torch.tensor([1.0, -2.0], requires_grad=True)
        optimizer = build_optimizer(name, [p], lr=0.1, maximize=True, **kwargs)
        for _ in range(30):
            optimizer.zero_grad()
            (p ** 2).sum().backward()
            optimizer.step()
        assert (p.detach().abs() > torch.tensor([1.0, 2.0])).all()


def test_a_torch_adam_maximize_checkpoint_keeps_ascending_in_ours():
    """The issue's repro: torch.optim.Adam(maximize=True) state loaded into our Adam and AMSGrad."""
    for ours, amsgrad in (("adam", False), ("amsgrad", True)):
        p = torch.tensor([1.0], requires_grad=True)
        reference = torch.optim.Adam([p], lr=0.1, maximize=True, amsgrad=amsgrad)
        q = p.detach().clone().requires_grad_()
        for step in range(20):
            for x, optimizer in ((p, reference),):
                optimizer.zero_grad()
                (x ** 2).sum().backward()
                optimizer.step()
            if step == 4:  # a checkpoint at step 5, loaded into ours
                q = p.detach().clone().requires_grad_()
                mine = build_optimizer(ours, [q], lr=0.1)
                mine.load_state_dict(reference.state_dict())
                assert mine.param_groups[0]["maximize"] is True
            elif step > 4:
                mine.zero_grad()
                (q ** 2).sum().backward()
                mine.step()
        torch.testing.assert_close(q, p)


def test_amsgrad_s_groups_say_amsgrad_so_torch_keeps_the_max():
    p = torch.randn(3, requires_grad=True)
    ours = build_optimizer("amsgrad", [p], lr=0.01)
    _steps(ours, [p], 3)
    theirs = torch.optim.Adam([p.detach().clone().requires_grad_()], lr=0.01)
    theirs.load_state_dict(ours.state_dict())
    assert theirs.param_groups[0]["amsgrad"] is True
    assert build_optimizer("adam", [p], lr=0.01).param_groups[0]["amsgrad"] is False
    assert "amsgrad" not in build_optimizer("adamal", [p], lr=0.01).param_groups[0]  # not torch's Adam rule


def test_every_optimizer_of_the_suite_is_covered():
    from optim_plugins._base import AdaptiveOptimizer  # noqa: PLC0415 (the registry also lists torch's SGD)

    assert {name for name, _ in CONFIGS} == {n for n, cls in OPTIMIZERS.items() if issubclass(cls, AdaptiveOptimizer)}
