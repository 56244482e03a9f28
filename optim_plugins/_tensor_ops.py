"""Two interchangeable back ends for lists of tensors, so each update rule is written once.

``FOREACH.mul_(xs, 0.9)`` calls ``torch._foreach_mul_(xs, 0.9)``: one multi-tensor kernel launch.
``PER_TENSOR.mul_(xs, 0.9)`` calls ``x.mul_(0.9)`` for each tensor (``torch.mul(x, ...)`` for the
out-of-place ops): the plain path, also the one ``torch.compile`` turns into fused loops.
Arguments that are lists are zipped with the first list; scalars are passed to every call. Both
back ends run the same per-tensor kernels on CPU, so they give the same numbers.
"""

from __future__ import annotations

import torch


class _Foreach:
    def __getattr__(self, op: str):
        return getattr(torch, f"_foreach_{op}")


# In-place ops that have a foreach kernel but no Tensor method of the same name.
_INPLACE_FUNCTIONS = {"maximum_": lambda x, y: torch.maximum(x, y, out=x)}


class _PerTensor:
    def __getattr__(self, op: str):
        def apply(tensors, *args, **kwargs):
            results = []
            for i, tensor in enumerate(tensors):
                call_args = [a[i] if isinstance(a, (list, tuple)) else a for a in args]
                if op in _INPLACE_FUNCTIONS:
                    results.append(_INPLACE_FUNCTIONS[op](tensor, *call_args, **kwargs))
                elif op.endswith("_"):
                    results.append(getattr(tensor, op)(*call_args, **kwargs))
                else:
                    results.append(getattr(torch, op)(tensor, *call_args, **kwargs))
            return results

        return apply


FOREACH = _Foreach()
PER_TENSOR = _PerTensor()
