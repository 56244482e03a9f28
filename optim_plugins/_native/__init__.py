"""One-pass CPU kernels for AdamAL, AdaShift and ADOPT, compiled on first use and cached per machine.

torch has fused Adam/AMSGrad kernels but none for these rules; written as foreach ops they take
several passes over memory (AdamAL ~4x, AdaShift 6-17x torch's fused Adam on a 2-core CPU).
``cpu_kernels.cpp`` does each step in one pass. It is built with ``torch.utils.cpp_extension``
(g++ and ninja; about a minute, once: the build is cached under ``TORCH_EXTENSIONS_DIR``, default
``~/.cache/torch_extensions``, and reused by every later process). ``python -m optim_plugins._native``
builds it ahead of time (the setup script does).

When the build is not possible (no compiler, an unsupported platform) or is switched off with
``OPTIM_PLUGINS_NATIVE=0``, :func:`cpu_kernels` returns None after logging one warning, and the
optimizers use their multi-tensor path instead: same numbers within float rounding, slower.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import shutil
import threading
from pathlib import Path

import torch

LOG = logging.getLogger("optim_plugins")
SOURCE = Path(__file__).with_name("cpu_kernels.cpp")
# The kernels this Python code was written against, read when the module is imported: the build
# uses this text and is named by its hash, so a process never loads kernels from a source edited
# (or upgraded) after it started, and any change of the source gets a build of its own.
SOURCE_TEXT = SOURCE.read_text()
SOURCE_HASH = hashlib.sha256(SOURCE_TEXT.encode()).hexdigest()[:12]

_lock = threading.Lock()
_state: dict = {}


def _compile_flags() -> tuple[str, list[str]]:
    """A build tag and flags: AVX2/FMA when the CPU has them (the tag keeps builds apart)."""
    flags = ["-O3", "-fno-math-errno", "-fno-trapping-math", "-fopenmp"]
    capability = torch.backends.cpu.get_cpu_capability()
    if platform.machine() in ("x86_64", "AMD64") and capability in ("AVX2", "AVX512"):
        return "avx2", flags + ["-mavx2", "-mfma"]
    return "generic", flags


def _ninja_on_path() -> None:
    """Make the pip-installed ninja visible to the build when the venv is not activated."""
    if shutil.which("ninja"):
        return
    try:
        import ninja  # noqa: PLC0415 - optional helper package

        os.environ["PATH"] = ninja.BIN_DIR + os.pathsep + os.environ.get("PATH", "")
    except ImportError:
        pass


def _build():
    # torch.utils.cpp_extension warns at import that a CPU-only machine has no CUDA runtime: noise here
    extension_log = logging.getLogger("torch.utils.cpp_extension")
    level = extension_log.level
    extension_log.setLevel(logging.ERROR)
    try:
        from torch.utils import cpp_extension  # noqa: PLC0415 - slow import, only when needed
    finally:
        extension_log.setLevel(level)

    tag, flags = _compile_flags()
    name = f"optim_plugins_cpu_{SOURCE_HASH}_{tag}"
    _ninja_on_path()
    try:
        cache = Path(cpp_extension._get_build_directory(name, False))
        built = (cache / f"{name}.so").exists()
    except Exception:  # noqa: BLE001 - a private helper; only decides how loudly to log
        cache, built = "TORCH_EXTENSIONS_DIR", False
    (LOG.debug if built else LOG.warning)(
        "optim_plugins: %s the CPU kernels of AdamAL/AdaShift/ADOPT%s", "loading" if built else "building",
        "" if built else f" (once per machine, about a minute; cached in {cache}; "
                         f"build ahead with `python -m optim_plugins._native`, skip with OPTIM_PLUGINS_NATIVE=0)")
    return cpp_extension.load_inline(name=name, cpp_sources=[SOURCE_TEXT], extra_cflags=flags,
                                     extra_ldflags=["-fopenmp"], verbose=False)


def cpu_kernels():
    """The compiled module, or None (with one logged warning) when it cannot be built here."""
    with _lock:
        if "module" not in _state:
            if os.environ.get("OPTIM_PLUGINS_NATIVE", "1") == "0":
                _state["module"] = None
                LOG.warning("optim_plugins: OPTIM_PLUGINS_NATIVE=0: CPU kernels off; AdamAL, AdaShift and ADOPT use "
                            "the slower multi-tensor path")
            else:
                try:
                    _state["module"] = _build()
                except Exception as error:  # noqa: BLE001 - any build failure means: fall back
                    _state["module"] = None
                    LOG.warning("optim_plugins: CPU kernels unavailable (%s: %s); AdamAL, AdaShift and ADOPT "
                                "use the slower multi-tensor path", type(error).__name__,
                                str(error).strip().splitlines()[-1][:300] if str(error).strip() else "")
        return _state["module"]


def usable(*tensors: torch.Tensor) -> bool:
    """Whether the CPU kernels apply: CPU, contiguous, float32/float64 tensors (then loads them)."""
    for t in tensors:  # is_cpu, not device.type: this runs for every tensor of every step
        if not t.is_cpu or not t.is_contiguous():
            return False
    if tensors and tensors[0].dtype not in (torch.float32, torch.float64):
        return False
    return cpu_kernels() is not None
