"""What every optimizer of the suite shares: validation, state bookkeeping and the step loop.

A subclass declares its hyperparameter checks (``_validate_group``), how to create the state of
one parameter (``_init_state``) and its update rule (``_update``), written once against a
tensor-list back end (``optim_plugins._tensor_ops``). This class does the rest:

* gathers the parameters that have gradients, refusing sparse ones with a clear error;
* counts steps per parameter in ``state["step"]`` (a float32 CPU scalar tensor, as torch does);
* batches parameters by (device, dtype, step) so each call of ``_update`` sees one step count;
* bf16/fp16 parameters are updated through float32 working copies against float32 state, then
  rounded back (the state keeps full precision; a checkpoint keeps it too);
* ``foreach=None`` (the default) or ``True`` uses the multi-tensor kernels; ``False`` the plain
  per-tensor path. Both give the same numbers.
* ``fused=None`` (the default) or ``True`` uses the optimizer's fast path, equal to the reference
  path within float rounding: torch's fused Adam kernels for Adam, AMSGrad and AdamNC (CPU and
  CUDA); for AdamAL and AdaShift our one-pass CPU kernels (``optim_plugins._native``, built on
  first use) on CPU, and elsewhere, or where they cannot be built, the multi-tensor path (O(1)
  running window for AdaShift). ``fused=False`` forces the reference path.

torch.optim's conventions hold (tests/test_torch_conventions.py plays torch's generic optimizer
checks over every optimizer): ``maximize=True`` ascends on every path (the gradient is negated
before the update, as torch does); ``lr`` may be a 0-dim tensor (read at each step, so changing it
in place takes effect); ``capturable=True`` and ``differentiable=True`` are refused in one line
(see :data:`UNSUPPORTED`); ``load_state_dict`` runs the registered pre-hooks first, validates and
loads what they return, and runs the post-hooks last, as torch does; a state dict from an older
version without ``foreach``/``fused``/``maximize`` (or, for Adam and AMSGrad, ``amsgrad``) gets
their defaults, as torch's own ``__setstate__`` fills them.

Bad input is refused before it can do harm (a ValueError naming the bad value): hyperparameters
are validated whenever a group is added or a state dict is loaded, and nothing is changed when
they are bad; parameters must be real floating-point tensors; ``load_state_dict`` checks the
dict comes from the same optimizer (else it names both) and that every state tensor matches its
parameter (shape, floating dtype, values the kernels index with), so no kernel ever sees a
mismatched buffer. Floating state is cast to the dtype this optimizer keeps (float64 state into a
float32 model becomes float32, as torch casts). :meth:`check_state` runs the same checks on the
live optimizer (the fairseq adapters call it after ``--optimizer-overrides``).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from itertools import chain

import torch
from torch.optim import Optimizer

from . import _validation as check
from ._tensor_ops import FOREACH, PER_TENSOR

LOW_PRECISION = (torch.bfloat16, torch.float16)
SWITCHES = ("foreach", "fused")  # how to compute, not what: never part of a state dict's identity
NOT_HYPERPARAMETERS = (*SWITCHES, "differentiable")  # torch's __setstate__ adds 'differentiable'
# group keys added after state dicts were first written, with the value an older dict meant
LATER_DEFAULTS = {"foreach": None, "fused": None, "maximize": False}
UNSUPPORTED = {  # torch.optim options these optimizers refuse, and why
    "capturable": "the step counters live on the CPU and the kernels take the step as a number, so a step "
                  "cannot be captured in a CUDA graph; use capturable=False (the default)",
    "differentiable": "the step updates in place under torch.no_grad, so autograd cannot differentiate "
                      "through it; use differentiable=False (the default), or torch.optim's own optimizers "
                      "for a differentiable step",
}


def state_dtype(param: torch.Tensor) -> torch.dtype:
    """Optimizer state is kept in float32 for bf16/fp16 parameters, else in the parameter's dtype."""
    return torch.float32 if param.dtype in LOW_PRECISION else param.dtype


def apply_weight_decay(ops, params, grads, *, lr: float, weight_decay: float, decoupled: bool,
                       shrink: bool = True):
    """Weight decay, written once for every update rule: coupled (L2) returns g + weight_decay * p;
    decoupled (AdamW) multiplies p by 1 - lr * weight_decay in place (if ``shrink``) and returns g.
    The one-pass kernels take the decoupled factor as an argument instead."""
    if weight_decay == 0:
        return grads
    if not decoupled:
        return ops.add(grads, params, alpha=weight_decay)
    if shrink:
        ops.mul_(params, 1 - lr * weight_decay)
    return grads


def _check_parameter(param) -> None:
    if isinstance(param, tuple) and len(param) == 2 and isinstance(param[0], str):
        param = param[1]  # named parameters, as torch accepts them
    if not isinstance(param, torch.Tensor):
        raise TypeError(f"optimizer parameters must be tensors, got {type(param).__name__}")
    if not param.is_floating_point():
        raise ValueError(
            f"Invalid parameter of dtype {param.dtype} and shape {tuple(param.shape)}: these optimizers "
            f"update real floating-point parameters only (float16/bfloat16/float32/float64)")


class AdaptiveOptimizer(Optimizer):
    """Base class; see the module docstring."""

    state_shaping: tuple[str, ...] = ()  # hyperparameters that decide the state's shapes
    state_variants: tuple[dict, ...] = ({},)  # group settings that give other sets of state keys

    def __init__(self, params, defaults: dict, foreach: bool | None = None, fused: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False):
        for name, value in (("capturable", capturable), ("differentiable", differentiable)):
            if value:
                raise ValueError(f"{type(self).__name__} does not support {name}=True: {UNSUPPORTED[name]}")
        super().__init__(params, check.plain_numbers_dict(dict(defaults, foreach=foreach, fused=fused,
                                                               maximize=maximize)))

    def later_defaults(self) -> dict:
        """Group keys an older state dict may lack, with the value it meant (subclasses add theirs)."""
        return dict(LATER_DEFAULTS)

    # -- hooks for subclasses -------------------------------------------------------------
    def _validate_group(self, group: dict) -> None:
        for name in SWITCHES:
            if group[name] not in (None, True, False):
                raise ValueError(f"Invalid {name}: {group[name]!r} (expected None, True or False)")
        if "decoupled_weight_decay" in group:
            check.check_flag("decoupled_weight_decay", group["decoupled_weight_decay"])
        check.check_flag("maximize", group.get("maximize", False))
        for name in UNSUPPORTED:
            if group.get(name):
                raise ValueError(f"Invalid {name}: True ({UNSUPPORTED[name]})")
        check.check_lr(group["lr"])
        check.check_positive("eps", group["eps"])
        check.check_non_negative("weight_decay", group["weight_decay"])

    def _init_state(self, param: torch.Tensor, state: dict, group: dict) -> None:
        raise NotImplementedError

    def _update(self, group, ops, params, grads, states: dict[str, list], step: int) -> None:
        raise NotImplementedError

    def _check_state_values(self, state: dict, group: dict, step: int, problem: str) -> None:
        """Subclasses: refuse state values the update cannot use (called on load)."""

    # -- torch.optim.Optimizer interface --------------------------------------------------
    def add_param_group(self, param_group: dict) -> None:
        """As torch's, but the group is validated (and NumPy scalars made plain) before it is added."""
        params = param_group["params"]
        params = [params] if isinstance(params, torch.Tensor) else params
        if not isinstance(params, (set, dict)):  # torch refuses sets with its own message
            params = list(params)
            for param in params:
                _check_parameter(param)
        group = check.plain_numbers_dict({**param_group, "params": params})
        self._validate_group({**self.defaults, **group})
        super().add_param_group(group)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            ops = PER_TENSOR if group["foreach"] is False else FOREACH
            if torch.is_tensor(group["lr"]):  # read now: a tensor lr changed in place takes effect
                group = {**group, "lr": float(group["lr"])}
            for batch in self._batches(group):
                self._update_batch(group, ops, *batch)
        return loss

    def load_state_dict(self, state_dict: dict) -> None:
        """As torch's, after checking the dict (see the module docstring); nothing changes if it is bad.

        The order is torch's: the load pre-hooks first (what they return is what is checked and
        loaded), then the defaults of keys an older dict lacks, the checks, the load, and the post-hooks
        last (their changes stay). torch casts floating state to the parameter's dtype, which would
        round our float32 state of a bf16 parameter to bf16 and break exact resume; here each state
        tensor gets the dtype this optimizer keeps for it and its parameter's device (the step counter
        stays a float32 CPU scalar). Every tensor is copied, so the optimizer never shares state with
        the dict it was loaded from.
        """
        if isinstance(state_dict, dict):
            state_dict = state_dict.copy()  # as torch: a hook may change the top level without touching the caller's
        for pre_hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = pre_hook(self, state_dict)
            if result is not None:
                state_dict = result
        state_dict = self._with_later_defaults(state_dict)
        expected = self._check_loadable(state_dict)
        post_hooks = self._optimizer_load_state_dict_post_hooks
        pre_hooks = self._optimizer_load_state_dict_pre_hooks
        self._optimizer_load_state_dict_pre_hooks = type(pre_hooks)()  # already run, above
        self._optimizer_load_state_dict_post_hooks = type(post_hooks)()  # run below, after our copies
        try:
            super().load_state_dict(state_dict)
        finally:
            self._optimizer_load_state_dict_pre_hooks, self._optimizer_load_state_dict_post_hooks = pre_hooks, post_hooks
        saved_ids = chain.from_iterable(g["params"] for g in state_dict["param_groups"])
        params = chain.from_iterable(g["params"] for g in self.param_groups)
        for saved_id, param in zip(saved_ids, params):
            saved = state_dict["state"].get(saved_id)
            if saved is None:
                continue
            state = self.state[param]
            for key, value in saved.items():
                if key == "step":
                    state[key] = torch.as_tensor(value, dtype=torch.float32).to("cpu", copy=True).reshape(())
                else:
                    state[key] = value.to(device=param.device, dtype=expected[param][key].dtype, copy=True)
        for group in self.param_groups:
            group.update(check.plain_numbers_dict({k: v for k, v in group.items() if k != "params"}))
        for post_hook in post_hooks.values():
            post_hook(self)

    def _with_later_defaults(self, state_dict):
        """``state_dict`` with the group keys an older version did not write set to what it meant."""
        if not isinstance(state_dict, dict) or not isinstance(state_dict.get("param_groups"), (list, tuple)):
            return state_dict  # _check_loadable names what is wrong
        defaults = self.later_defaults()
        groups = [{**defaults, **g} if isinstance(g, dict) else g for g in state_dict["param_groups"]]
        return {**state_dict, "param_groups": groups}

    def check_state(self) -> None:
        """Check every group's hyperparameters and every state tensor against its parameter and group."""
        self._check_loadable(self.state_dict(), f"{type(self).__name__} state does not fit its groups")

    # -- checks -----------------------------------------------------------------------------
    def _check_loadable(self, state_dict, problem: str | None = None) -> dict:
        """Raise a ValueError unless ``state_dict`` fits this optimizer; returns the expected state."""
        name = type(self).__name__
        problem = problem or f"Cannot load into {name}"
        if not isinstance(state_dict, dict) or not isinstance(state_dict.get("state"), dict) \
                or not isinstance(state_dict.get("param_groups"), (list, tuple)):
            raise ValueError(f"{problem}: not an optimizer state dict (expected a dict with "
                             f"'state' and 'param_groups')")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{problem}: the state dict has {len(saved_groups)} parameter "
                             f"groups, this optimizer {len(self.param_groups)}")
        expected_by_param = {}
        for index, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if not isinstance(saved, dict) or not isinstance(saved.get("params"), (list, tuple)) \
                    or len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{problem}: parameter group {index} of the state dict does "
                                 f"not list {len(group['params'])} parameters as this optimizer's does")
            hyper = {k for k in self.defaults if k not in NOT_HYPERPARAMETERS}
            missing = sorted(hyper - set(saved))
            foreign = sorted(set(saved) & _foreign_hyperparameters(type(self)))
            if missing or foreign:
                raise ValueError(f"{problem}: the state dict looks like {_guess_source(saved, state_dict)}'s "
                                 f"(its parameter group {_lacks_has(missing, foreign)})")
            merged = check.plain_numbers_dict({**group, **{k: v for k, v in saved.items() if k != "params"}})
            try:
                self._validate_group(merged)
            except ValueError as error:
                raise ValueError(f"{problem}: parameter group {index}: {error}") from None
            for saved_id, param in zip(saved["params"], group["params"]):
                saved_state = state_dict["state"].get(saved_id)
                if saved_state is not None:
                    expected_by_param[param] = self._check_param_state(param, saved_state, merged, state_dict,
                                                                       problem)
        return expected_by_param

    def _check_param_state(self, param, saved_state, group, state_dict, problem) -> dict:
        where = f"the state of a parameter of shape {tuple(param.shape)}"
        if not isinstance(saved_state, dict):
            raise ValueError(f"{problem}: {where} is a {type(saved_state).__name__}, not a dict")
        meta = torch.empty_like(param, device="meta")
        expected: dict = {}
        self._init_state(meta, expected, group)
        wanted = {*expected, "step"}
        missing, extra = sorted(wanted - set(saved_state)), sorted(set(saved_state) - wanted)
        if missing or extra:
            raise ValueError(f"{problem}: {where} {_lacks_has(missing, extra)} ({self._source_hint(group, state_dict)})")
        step = saved_state["step"]
        step = step.item() if torch.is_tensor(step) and step.numel() == 1 else step
        if not check._is_real_number(step) or step < 0 or step != int(step):
            raise ValueError(f"{problem}: {where} has step {saved_state['step']!r} "
                             f"(expected a whole number >= 0)")
        for key, want in expected.items():
            value = saved_state[key]
            if not torch.is_tensor(value) or not value.is_floating_point() or value.is_complex():
                raise ValueError(f"{problem}: {where}: {key!r} is "
                                 f"{getattr(value, 'dtype', type(value).__name__)}, expected a floating tensor")
            if value.shape != want.shape:
                raise ValueError(f"{problem}: {where}: {key!r} has shape {tuple(value.shape)}, "
                                 f"expected {tuple(want.shape)} (from another model, or other optimizer settings)")
        self._check_state_values(saved_state, group, int(step), problem)
        return expected

    def _source_hint(self, group: dict, state_dict: dict) -> str:
        source, name = _guess_source(group, state_dict), type(self).__name__
        if source == name and self.state_shaping:
            settings = ", ".join(f"{k} {group[k]!r}" for k in self.state_shaping)
            return (f"state made by {name} with other {' or '.join(self.state_shaping)} than this group's "
                    f"{settings}: they cannot change in the middle of a run")
        return f"it looks like {source}'s state" if source != name else f"not the state {name} makes"

    # -- internals --------------------------------------------------------------------------
    def _batches(self, group: dict):
        """Yield (params, their states, step) for the parameters with gradients, batched by device,
        dtype and step; each batch's step counters are advanced before it is yielded."""
        batches: dict[tuple, tuple[list, list]] = defaultdict(lambda: ([], []))
        for param in group["params"]:
            grad = param.grad
            if grad is None:
                continue
            if grad.is_sparse:
                raise RuntimeError(
                    f"{type(self).__name__} does not support sparse gradients (parameter of shape "
                    f"{tuple(param.shape)}); use dense gradients, e.g. nn.Embedding(sparse=False)"
                )
            state = self.state[param]
            if not state:
                state["step"] = torch.tensor(0.0, dtype=torch.float32)
                self._init_state(param, state, group)
            params, states = batches[(param.device, state_dtype(param), int(state["step"].item()) + 1)]
            params.append(param)
            states.append(state)
        for (_, _, step), (params, states) in batches.items():
            _set_counters([state["step"] for state in states], step)
            yield params, states, step

    def _update_batch(self, group, ops, params, per_param, step) -> None:
        # Every path works on contiguous float32+ tensors laid out like the state (new_zeros: contiguous):
        # a low-precision, channels_last or strided parameter is updated through a contiguous working
        # copy, written back after the step. (torch's own fused Adam gives wrong numbers when a
        # gradient's strides differ from its parameter's; the one-pass kernels read memory linearly.)
        working = [_contiguous(p.float() if p.dtype in LOW_PRECISION else p) for p in params]
        grads = [_contiguous(p.grad.float() if p.dtype in LOW_PRECISION else p.grad) for p in params]
        if group["maximize"]:  # ascend: the update sees -g, as in torch (before any weight decay)
            grads = [torch.neg(g) for g in grads]
        states = {k: [state[k] for state in per_param] for k in per_param[0]}
        self._update(group, ops, working, grads, states, step)
        for param, work in zip(params, working):
            if work is not param:
                param.copy_(work)


def _set_counters(counters: list[torch.Tensor], step: int) -> None:
    """Set each step counter (a 0-dim tensor) to ``step``. A CPU counter is written through its
    numpy view: an aten op per counter (or torch._foreach_add_, which loops over them on the CPU)
    costs about 5 us each, the largest per-tensor cost of a step in Python (0.5 ms for 100
    tensors). Counters elsewhere (a user's own state) take torch's way."""
    others = []
    for counter in counters:
        if counter.is_cpu and not counter.requires_grad:
            counter.numpy()[()] = step
        else:
            others.append(counter)
    if others:
        torch._foreach_copy_(others, [torch.full_like(c, step) for c in others])


def _contiguous(tensor: torch.Tensor) -> torch.Tensor:
    return tensor if tensor.is_contiguous() else tensor.contiguous()


def _lacks_has(missing: list, extra: list) -> str:
    return " and ".join([f"lacks {', '.join(missing)}"] * bool(missing) + [f"has {', '.join(extra)}"] * bool(extra))


@functools.lru_cache(maxsize=None)
def _signature(cls) -> tuple[frozenset, tuple[frozenset, ...]]:
    """(hyperparameter names, the possible sets of state keys) of one of the suite's optimizers."""
    param = torch.zeros(1, requires_grad=True)
    optimizer = cls([param])
    key_sets = []
    for variant in cls.state_variants:
        state: dict = {}
        optimizer._init_state(param, state, {**optimizer.param_groups[0], **variant})
        key_sets.append(frozenset(state) | {"step"})
    return frozenset(k for k in optimizer.defaults if k not in NOT_HYPERPARAMETERS), tuple(key_sets)


def _suite_classes() -> list[type]:
    from .registry import OPTIMIZERS  # noqa: PLC0415 - the registry imports this module

    return [cls for cls in OPTIMIZERS.values() if issubclass(cls, AdaptiveOptimizer)]


def _foreign_hyperparameters(cls) -> set[str]:
    """Hyperparameter names of the suite's other optimizers that ``cls`` does not have."""
    own = _signature(cls)[0]
    return set().union(*(_signature(other)[0] for other in _suite_classes())) - own


def _guess_source(group: dict, state_dict: dict) -> str:
    """The name of the suite optimizer whose state dict this looks like, for error messages."""
    states = [s for s in state_dict.get("state", {}).values() if isinstance(s, dict)]
    keys = frozenset(states[0]) if states else None
    for cls in sorted(_suite_classes(), key=lambda c: -len(_signature(c)[0])):  # the most specific first
        hyper, key_sets = _signature(cls)
        if hyper <= set(group) and (keys is None or keys in key_sets):
            return cls.__name__
    return "another optimizer"
