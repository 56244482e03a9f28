"""Startup hook: registers optim_plugins' fairseq optimizers whenever fairseq is imported.

Installed with the project as ``optim_plugins_fairseq_hook.pth`` in site-packages, which Python
runs at start-up: it only adds a finder to ``sys.meta_path`` (no torch or fairseq import, so it
costs nothing for programs that never import fairseq). When ``import fairseq`` finishes, the finder
imports ``optim_plugins.fairseq_plugin``, which registers ``--optimizer adashift`` and the others,
so ``fairseq-train --optimizer adashift`` works with no extra flag.

Turn it off with the environment variable ``OPTIM_PLUGINS_FAIRSEQ_HOOK=0`` (then use
``--user-dir``, see ``python -m optim_plugins.fairseq_plugin``).
"""

import importlib.util
import os
import sys
import warnings

ENV_SWITCH = "OPTIM_PLUGINS_FAIRSEQ_HOOK"


class _RegisterAfterFairseqImport:
    """A one-shot meta path finder: wraps fairseq's loader so registration follows its import."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "fairseq":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("fairseq")
        if spec is None or spec.loader is None:
            return spec
        exec_fairseq = spec.loader.exec_module

        def exec_module(module):
            exec_fairseq(module)
            try:
                import optim_plugins.fairseq_plugin  # noqa: F401  (registers on import)
            except Exception as error:  # never break fairseq itself
                warnings.warn(f"optim_plugins could not register its fairseq optimizers: {error!r}")

        spec.loader.exec_module = exec_module
        return spec


def install() -> None:
    if os.environ.get(ENV_SWITCH, "1") == "0" or "fairseq" in sys.modules:
        return
    if not any(isinstance(f, _RegisterAfterFairseqImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _RegisterAfterFairseqImport())


install()
