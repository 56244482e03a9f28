"""``--device`` for every CLI: ``auto`` (CUDA when present, else the CPU), ``cpu``, ``cuda`` or
``cuda:N``, checked before anything is written, so a bad value is one line naming it, never a
traceback from deep inside a run."""

from __future__ import annotations


def device_problem(value: str) -> str | None:
    """Why ``value`` cannot be used as a device here (None when it can)."""
    import torch  # noqa: PLC0415

    if value == "auto":
        return None
    try:
        device = torch.device(value)
    except (RuntimeError, TypeError, ValueError):
        return f"{value!r} is not a device (expected auto, cpu, cuda or cuda:N)"
    if device.type == "cpu":
        return None
    if device.type != "cuda":
        return f"{value!r}: only auto, cpu and cuda devices are supported"
    if not torch.cuda.is_available():
        return f"{value!r}: no CUDA device here (torch.cuda.is_available() is False); use cpu or auto"
    if device.index is not None and device.index >= torch.cuda.device_count():
        return f"{value!r}: this machine has {torch.cuda.device_count()} CUDA device(s)"
    return None


def resolve(value: str, rank: int = 0):
    """The torch.device for a checked ``value`` (``auto``: CUDA device ``rank`` mod the count, else CPU)."""
    import torch  # noqa: PLC0415

    problem = device_problem(value)
    if problem:
        raise ValueError(f"Invalid device: {problem}")
    if value == "auto":
        return torch.device(f"cuda:{rank % torch.cuda.device_count()}" if torch.cuda.is_available() else "cpu")
    return torch.device(value)
