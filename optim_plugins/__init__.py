"""Adaptive optimizers (Adam, AMSGrad, AdamNC, AdaShift, AdamAL, ADOPT) as plain torch.optim.Optimizers.

    from optim_plugins import AdaShift
    optimizer = AdaShift(model.parameters(), lr=1e-2, betas=(0.0, 0.9), keep_num=40, reduce="max")

No fairseq import here: the fairseq adapters live in ``optim_plugins.fairseq_plugin``.
"""

from .adam import Adam, AMSGrad
from .adamal import AdamAL
from .adamnc import AdamNC
from .adashift import AdaShift
from .adopt import ADOPT
from .registry import OPTIMIZERS, build_optimizer, optimizer_kwargs

__all__ = ["Adam", "AMSGrad", "AdamNC", "AdaShift", "AdamAL", "ADOPT", "build_optimizer", "optimizer_kwargs", "OPTIMIZERS"]
