"""The suite's optimizers where people already pick optimizers by name.

* :mod:`optim_plugins.integrations.timm`: ``register()`` puts them into timm's optimizer factory
  (``timm.optim.create_optimizer_v2(model, "adashift", ...)``).
* :mod:`optim_plugins.integrations.huggingface`: ``trainer_optimizer("adashift", ...)`` gives the
  Hugging Face ``Trainer`` its ``optimizer_cls_and_kwargs``.

Neither library is imported before these functions are called; each is pinned in constraints.txt
and checked in one line when its version lacks what is used here.
"""
