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
"""

from __future__ import annotations

from collections import defaultdict
from itertools import chain

import torch
from torch.optim import Optimizer

from . import _validation as check
from ._tensor_ops import FOREACH, PER_TENSOR

LOW_PRECISION = (torch.bfloat16, torch.float16)


def state_dtype(param: torch.Tensor) -> torch.dtype:
    """Optimizer state is kept in float32 for bf16/fp16 parameters, else in the parameter's dtype."""
    return torch.float32 if param.dtype in LOW_PRECISION else param.dtype


class AdaptiveOptimizer(Optimizer):
    """Base class; see the module docstring."""

    def __init__(self, params, defaults: dict, foreach: bool | None = None, fused: bool | None = None):
        for name, value in (("foreach", foreach), ("fused", fused)):
            if value not in (None, True, False):
                raise ValueError(f"Invalid {name}: {value!r} (expected None, True or False)")
        super().__init__(params, dict(defaults, foreach=foreach, fused=fused))

    # -- hooks for subclasses -------------------------------------------------------------
    def _validate_group(self, group: dict) -> None:
        check.check_non_negative("lr", group["lr"])
        check.check_positive("eps", group["eps"])
        check.check_non_negative("weight_decay", group["weight_decay"])

    def _init_state(self, param: torch.Tensor, state: dict, group: dict) -> None:
        raise NotImplementedError

    def _update(self, group, ops, params, grads, states: dict[str, list], step: int) -> None:
        raise NotImplementedError

    # -- torch.optim.Optimizer interface --------------------------------------------------
    def add_param_group(self, param_group: dict) -> None:
        super().add_param_group(param_group)
        self._validate_group(self.param_groups[-1])

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            ops = PER_TENSOR if group["foreach"] is False else FOREACH
            for batch in self._batches(group):
                self._update_batch(group, ops, *batch)
        return loss

    def load_state_dict(self, state_dict: dict) -> None:
        """As torch's, but state tensors keep their saved dtype (float32 state for bf16 params).

        torch casts floating state to the parameter's dtype, which would round our float32
        state of a bf16 parameter to bf16 and break exact resume; here each state tensor is
        only moved to its parameter's device (the step counter stays on the CPU). Every tensor
        is copied, so the optimizer never shares state with the dict it was loaded from.
        """
        super().load_state_dict(state_dict)
        saved_ids = chain.from_iterable(g["params"] for g in state_dict["param_groups"])
        params = chain.from_iterable(g["params"] for g in self.param_groups)
        for saved_id, param in zip(saved_ids, params):
            saved = state_dict["state"].get(saved_id)
            if saved is None:
                continue
            for key, value in saved.items():
                if torch.is_tensor(value):
                    device = "cpu" if key == "step" else param.device
                    self.state[param][key] = value.to(device=device, copy=True)

    # -- internals --------------------------------------------------------------------------
    def _batches(self, group: dict):
        """Yield (params, step) for the parameters with gradients, batched by device, dtype and step."""
        batches: dict[tuple, list] = defaultdict(list)
        for param in group["params"]:
            if param.grad is None:
                continue
            if param.grad.is_sparse:
                raise RuntimeError(
                    f"{type(self).__name__} does not support sparse gradients (parameter of shape "
                    f"{tuple(param.shape)}); use dense gradients, e.g. nn.Embedding(sparse=False)"
                )
            state = self.state[param]
            if not state:
                state["step"] = torch.tensor(0.0, dtype=torch.float32)
                self._init_state(param, state, group)
            step = int(state["step"].item()) + 1
            batches[(param.device, state_dtype(param), step)].append(param)
        for (_, _, step), params in batches.items():
            torch._foreach_add_([self.state[p]["step"] for p in params], 1.0)  # one call per batch
            yield params, step

    def _update_batch(self, group, ops, params, step) -> None:
        working = [p.float() if p.dtype in LOW_PRECISION else p for p in params]
        grads = [
            p.grad.float() if p.dtype in LOW_PRECISION else p.grad for p in params
        ]
        states = {k: [self.state[p][k] for p in params] for k in self.state[params[0]]}
        self._update(group, ops, working, grads, states, step)
        for param, work in zip(params, working):
            if work is not param:
                param.copy_(work)
