"""One-pass Triton kernels for CUDA: AdamAL, ADOPT and AdaShift (every layout), the same formulas as
the reference paths in ``adam.py``, ``adopt.py`` and ``adashift.py`` (kernels in ``_triton_kernels``).

Each step is one launch over all tensors of a batch (AdaShift with reduce max/mean: plus a tiny
launch, one program per tensor, for its per-tensor scalars before it). The tensors are reached
through tables of their addresses: program i handles one block of elements of one tensor, so a
group of many small tensors costs one launch, not one per tensor; per-tensor reductions (max / sum
of g^2, AdaShift's phi) are block reductions merged with atomics.

Used by default for float32 CUDA tensors (AdaShift: with a float32 window; a bf16 window and
float64 take the multi-tensor path), with the same ``fused=False`` rule as the CPU kernels;
triton is imported only then. Tested on CPU under Triton's interpreter: ``TRITON_INTERPRET=1`` set
before triton is imported (``tests/conftest.py`` does it on machines without CUDA) and ``ON_CPU =
True`` (a test's switch) run these kernels on CPU tensors against the float64 reference.
"""

from __future__ import annotations

import importlib.util
import os

import torch

ON_CPU = False  # run on CPU tensors too; only meaningful under TRITON_INTERPRET=1 (tests)


def interpreted() -> bool:
    return os.environ.get("TRITON_INTERPRET") == "1"


def usable(*tensors: torch.Tensor) -> bool:
    """Whether the kernels apply: contiguous tensors of one dtype on one device, float32 on CUDA
    (float64 CUDA tensors take the multi-tensor path: Triton's float64 exp2 and atomics are not
    something these kernels rely on), or float32/float64 on the CPU under the interpreter with
    ``ON_CPU`` (the tests, which check the formulas in float64); and triton installed."""
    if not tensors:
        return False
    device, dtype = tensors[0].device, tensors[0].dtype
    on_cuda = device.type == "cuda" and dtype == torch.float32
    interpreted_cpu = device.type == "cpu" and ON_CPU and interpreted() and dtype in (torch.float32, torch.float64)
    if not (on_cuda or interpreted_cpu):
        return False
    if any(t.device != device or t.dtype != dtype or not t.is_contiguous() for t in tensors):
        return False
    return importlib.util.find_spec("triton") is not None


def adamal_update(*args, **kwargs) -> None:
    from . import _triton_kernels  # noqa: PLC0415 - triton is imported when a kernel runs

    _triton_kernels.adamal_update(*args, **kwargs)


def adopt_update(*args, **kwargs) -> None:
    from . import _triton_kernels  # noqa: PLC0415

    _triton_kernels.adopt_update(*args, **kwargs)


def adashift_update(ops, params, grads, state, hp, step: int) -> None:
    """AdaShift's step (the common signature of ``adashift``), every layout, as its O(1) path."""
    from . import _triton_kernels  # noqa: PLC0415

    _triton_kernels.adashift_update(ops, params, grads, state, hp, step)
