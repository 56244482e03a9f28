"""Let torch >= 2.6 load fairseq checkpoints with ``weights_only=True``, and nothing more.

fairseq calls ``torch.load`` without ``weights_only``; since torch 2.6 that means
``weights_only=True``, and fairseq checkpoints then fail with 'Unsupported global'. Rather than
switching the safety off, we allow-list exactly the globals fairseq checkpoints contain (found
with ``torch.serialization.get_unsafe_globals_in_checkpoint`` on checkpoints that fairseq-train
wrote with this project's optimizers, fp32 and bf16): only ``argparse.Namespace`` (the legacy
``args`` entry). Tensors, dicts, lists and numbers are allowed by torch already. A checkpoint
that holds any other class is still refused.
"""

import argparse

import torch

FAIRSEQ_CHECKPOINT_GLOBALS = (argparse.Namespace,)


def allow_fairseq_checkpoints() -> None:
    torch.serialization.add_safe_globals(list(FAIRSEQ_CHECKPOINT_GLOBALS))
