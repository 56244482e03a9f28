"""The suite's optimizers in timm's optimizer factory.

    from optim_plugins.integrations.timm import register
    register()
    optimizer = timm.optim.create_optimizer_v2(model, "adashift", lr=1e-3, weight_decay=0.05, keep_num=10)

timm then builds ours with its own parameter groups (no weight decay for biases and norm layers,
``layer_decay``'s per-layer ``lr_scale``, which its schedulers apply) and passes ``foreach`` through
(ours take None, True or False like torch's). Names (timm splits a name on ``_`` for its
``lookahead_`` prefix, so none has one):

* ``adashift``, ``adamal``, ``amsgrad``, ``adamnc``: ours, with weight decay added to the gradient
  (L2), as timm's ``adam``;
* ``adashiftw``, ``adamalw``, ``amsgradw``: decoupled weight decay, as timm's ``adamw``;
* ``suite-<name>`` for every one of them and for ``adam``/``adamw``/``adopt``/``adoptw``, which
  timm already has (``torch.optim.Adam`` and timm's own ADOPT): ours never replace timm's under
  its own names unless ``register(replace_timm=True)`` is asked for.

timm keeps its registry in a private module (``timm.optim._optim_factory.default_registry``); when a
timm version moves it, :func:`register` says so in one line naming the version instead of failing
deep inside. Tested with timm 1.0.31 (constraints.txt).
"""

from __future__ import annotations

from ..registry import OPTIMIZERS

TESTED = "1.0.31"
# name -> (our optimizer, decoupled weight decay, timm's has_betas)
_ENTRIES = {
    "adam": ("adam", False, True), "adamw": ("adam", True, True),
    "amsgrad": ("amsgrad", False, True), "amsgradw": ("amsgrad", True, True),
    "adamal": ("adamal", False, True), "adamalw": ("adamal", True, True),
    "adamnc": ("adamnc", False, False),
    "adashift": ("adashift", False, True), "adashiftw": ("adashift", True, True),
    "adopt": ("adopt", False, True), "adoptw": ("adopt", True, True),
}
PREFIX = "suite-"


class TimmVersionError(RuntimeError):
    """The installed timm has no optimizer registry where this module expects it."""


def _registry():
    try:
        import timm  # noqa: PLC0415
    except ImportError:
        raise ImportError("optim_plugins.integrations.timm needs timm (pip install timm; tested with "
                          f"{TESTED})") from None
    version = getattr(timm, "__version__", "unknown")
    try:
        from timm.optim._optim_factory import OptimInfo, default_registry  # noqa: PLC0415
    except ImportError as error:
        raise TimmVersionError(f"timm {version} has no timm.optim._optim_factory.default_registry/OptimInfo "
                               f"({error}); optim_plugins.integrations.timm was written for timm {TESTED}") from None
    for needed in ("register", "get_optimizer_info", "create_optimizer"):
        if not callable(getattr(default_registry, needed, None)):
            raise TimmVersionError(f"timm {version}: its optimizer registry has no {needed}(); "
                                   f"optim_plugins.integrations.timm was written for timm {TESTED}")
    return OptimInfo, default_registry


def register(replace_timm: bool = False) -> list[str]:
    """Register every optimizer of the suite in timm's factory; the names registered. With
    ``replace_timm`` ours also take timm's own ``adam``, ``adamw``, ``adopt`` and ``adoptw``."""
    OptimInfo, registry = _registry()
    taken = set(registry._optimizers) if hasattr(registry, "_optimizers") else set()
    names = []
    for name, (ours, decoupled, has_betas) in _ENTRIES.items():
        cls = OPTIMIZERS[ours]
        defaults = {"decoupled_weight_decay": True} if decoupled else None
        description = (f"optim_plugins.{cls.__name__}" + (" with decoupled weight decay" if decoupled else "")
                       + " (the adaptive-optimizer suite)")
        for registered in (PREFIX + name, name):
            if registered == name and name in taken and not name.startswith(PREFIX) and not replace_timm \
                    and not _ours(registry, name):
                continue  # timm's own optimizer keeps its name
            registry.register(OptimInfo(name=registered, opt_class=cls, description=description, has_eps=True,
                                        has_momentum=False, has_betas=has_betas, num_betas=2, defaults=defaults))
            names.append(registered)
    return names


def _ours(registry, name: str) -> bool:
    info = registry._optimizers.get(name)
    return info is not None and getattr(info.opt_class, "__module__", "").startswith("optim_plugins")
