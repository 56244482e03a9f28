"""The suite's optimizers in the Hugging Face ``Trainer``.

    from optim_plugins.integrations.huggingface import trainer_optimizer
    trainer = Trainer(model, args, train_dataset=data,
                      optimizer_cls_and_kwargs=trainer_optimizer("adashift", args, keep_num=10))

The Trainer's ``optim=`` is a closed list, so the way in is ``optimizer_cls_and_kwargs`` (the
Trainer then builds the optimizer over its own parameter groups: weight decay on the weights, none
on biases and norm layers, from ``args.weight_decay``, and takes ``lr`` from its scheduler). Given
``TrainingArguments``, their ``learning_rate``, ``adam_beta1``/``adam_beta2`` and ``adam_epsilon``
become the optimizer's lr, betas and eps, so the usual flags keep working; keyword arguments win
over them. Weight decay is decoupled (AdamW's, the Trainer's default optimizer) where the
optimizer has the option, unless ``decoupled_weight_decay=False`` is given. Checkpoints resume: the
Trainer saves and loads ``optimizer.state_dict()``, which these optimizers restore exactly (tested
against an uninterrupted run). Tested with transformers 5.25.0 (constraints.txt).
"""

from __future__ import annotations

import inspect

from ..registry import OPTIMIZERS, optimizer_kwargs

TESTED = "5.25.0"


class TransformersVersionError(RuntimeError):
    """The installed transformers' Trainer does not take ``optimizer_cls_and_kwargs``."""


def check_transformers() -> str:
    """The installed transformers version, or one line saying why it cannot be used here."""
    try:
        import transformers  # noqa: PLC0415
    except ImportError:
        raise ImportError("optim_plugins.integrations.huggingface needs transformers (pip install transformers; "
                          f"tested with {TESTED})") from None
    version = getattr(transformers, "__version__", "unknown")
    if "optimizer_cls_and_kwargs" not in inspect.signature(_trainer_class().__init__).parameters:
        raise TransformersVersionError(f"transformers {version}: Trainer takes no optimizer_cls_and_kwargs (added "
                                       f"in 4.42); optim_plugins.integrations.huggingface was written for {TESTED}")
    return version


def _trainer_class():
    from transformers import Trainer  # noqa: PLC0415

    return Trainer


def trainer_optimizer(name: str, args=None, **hyperparameters) -> tuple[type, dict]:
    """(optimizer class, constructor kwargs) for ``Trainer(optimizer_cls_and_kwargs=...)``: optimizer
    ``name`` of the suite, its lr/betas/eps from ``args`` (a ``TrainingArguments``) when given,
    ``hyperparameters`` over them. Unknown names and hyperparameters raise a ValueError naming them."""
    check_transformers()
    key = str(name).lower()
    if key not in OPTIMIZERS or key == "sgd":
        raise ValueError(f"Unknown optimizer {name!r} for the Trainer; choose one of: "
                         f"{', '.join(k for k in OPTIMIZERS if k != 'sgd')}")
    common = {}
    if args is not None:
        common = {"lr": args.learning_rate, "betas": (args.adam_beta1, args.adam_beta2), "eps": args.adam_epsilon}
    given = dict(hyperparameters)
    for k in ("lr", "betas", "eps", "decoupled_weight_decay"):
        if k in given:
            common[k] = given.pop(k)
    decoupled = common.pop("decoupled_weight_decay", None)
    accepts_decoupled = "decoupled_weight_decay" in inspect.signature(OPTIMIZERS[key].__init__).parameters
    if decoupled is None:
        decoupled = True if accepts_decoupled else None
    kwargs = optimizer_kwargs(key, decoupled_weight_decay=decoupled, **common, **given)
    return OPTIMIZERS[key], kwargs
