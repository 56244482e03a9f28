"""fairseq adapters: registers every optim_plugins optimizer as a fairseq ``--optimizer``.

Importing this module registers them (once) and lets fairseq checkpoints load under torch's
``weights_only=True`` (see ``safe_loading``). It is imported automatically whenever fairseq is
imported in an environment where this project is installed (see ``optim_plugins_fairseq_hook``),
or explicitly through ``fairseq-train --user-dir $(python -m optim_plugins.fairseq_plugin)``.
"""

from . import full_help
from .adapters import ADAPTERS, install_error_hook, register_all
from .safe_loading import allow_fairseq_checkpoints, name_corrupt_checkpoints

register_all()
allow_fairseq_checkpoints()
name_corrupt_checkpoints()
install_error_hook()
full_help.install()

__all__ = ["ADAPTERS", "register_all", "allow_fairseq_checkpoints"]
