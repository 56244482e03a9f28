"""Only here to ship ``optim_plugins_fairseq_hook.pth`` into site-packages (see that module).

Everything else about the package is declared in pyproject.toml. A regular install gets the
.pth through ``build_py``; an editable install (``pip install -e .``) through a wrapper around
setuptools' editable strategy, which writes the same file into the editable wheel.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

HOOK_PTH = "optim_plugins_fairseq_hook.pth"
HOOK_SOURCE = Path(__file__).resolve().parent / HOOK_PTH


class BuildPyWithStartupHook(build_py):
    def run(self):
        super().run()
        self.copy_file(str(HOOK_SOURCE), str(Path(self.build_lib) / HOOK_PTH))

    def get_outputs(self, include_bytecode=True):
        return [*super().get_outputs(include_bytecode), str(Path(self.build_lib) / HOOK_PTH)]


class _StrategyWithStartupHook:
    def __init__(self, strategy):
        self.strategy = strategy

    def __call__(self, wheel, files, mapping):
        self.strategy(wheel, files, mapping)
        wheel.writestr(HOOK_PTH, HOOK_SOURCE.read_bytes())

    def __enter__(self):
        self.strategy.__enter__()
        return self

    def __exit__(self, *exc_info):
        return self.strategy.__exit__(*exc_info)


class EditableWheelWithStartupHook(editable_wheel):
    def _select_strategy(self, *args, **kwargs):
        return _StrategyWithStartupHook(super()._select_strategy(*args, **kwargs))


setup(cmdclass={"build_py": BuildPyWithStartupHook, "editable_wheel": EditableWheelWithStartupHook})
