"""``python -m optim_plugins.fairseq_plugin`` prints the folder to pass to ``fairseq-train --user-dir``."""

from pathlib import Path

print(Path(__file__).resolve().parent / "user_dir" / "optim_plugins_fairseq")
