"""Let torch >= 2.6 load fairseq checkpoints with ``weights_only=True``, and nothing more.

fairseq calls ``torch.load`` without ``weights_only``; since torch 2.6 that means
``weights_only=True``, and fairseq checkpoints then fail with 'Unsupported global'. Rather than
switching the safety off, we allow-list exactly the globals fairseq checkpoints contain (found
with ``torch.serialization.get_unsafe_globals_in_checkpoint`` on checkpoints that fairseq-train
wrote with this project's optimizers, fp32 and bf16): only ``argparse.Namespace`` (the legacy
``args`` entry). Tensors, dicts, lists and numbers are allowed by torch already. A checkpoint
that holds any other class is still refused.

A truncated or empty checkpoint (an interrupted copy, a full disk) makes torch fail with 'failed
finding central directory' or a bare EOFError; :func:`name_corrupt_checkpoints` makes fairseq's
loader say which file it is and what to do instead (:class:`CorruptCheckpoint`).
"""

import argparse
import functools
import pickle
import zipfile

import torch

FAIRSEQ_CHECKPOINT_GLOBALS = (argparse.Namespace,)
UNREADABLE = (EOFError, zipfile.BadZipFile, pickle.UnpicklingError, RuntimeError)


class CorruptCheckpoint(RuntimeError):
    """A checkpoint file that cannot be read at all."""


def allow_fairseq_checkpoints() -> None:
    torch.serialization.add_safe_globals(list(FAIRSEQ_CHECKPOINT_GLOBALS))


def unreadable_checkpoint(path, error: Exception) -> CorruptCheckpoint | None:
    """A CorruptCheckpoint naming ``path`` when ``error`` means the file is truncated or corrupt."""
    text = str(error)
    truncated = isinstance(error, (EOFError, zipfile.BadZipFile)) or any(
        s in text for s in ("central directory", "PytorchStreamReader", "invalid load key", "file too short"))
    if not truncated:
        return None
    first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return CorruptCheckpoint(
        f"checkpoint {path} is truncated or corrupt ({first[:200]}); nothing was changed. Move it away to start "
        f"afresh, or put an intact checkpoint (checkpoint_best.pt, an interval checkpoint) in its place")


def name_corrupt_checkpoints() -> None:
    from fairseq import checkpoint_utils

    original = checkpoint_utils.load_checkpoint_to_cpu
    if getattr(original, "_names_corrupt_files", False):
        return

    @functools.wraps(original)
    def load_checkpoint_to_cpu(path, *args, **kwargs):
        try:
            return original(path, *args, **kwargs)
        except UNREADABLE as error:
            corrupt = unreadable_checkpoint(path, error)
            if corrupt is None:
                raise
            raise corrupt from None

    load_checkpoint_to_cpu._names_corrupt_files = True
    checkpoint_utils.load_checkpoint_to_cpu = load_checkpoint_to_cpu
