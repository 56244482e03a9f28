"""Where downloaded and prepared data lives."""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """``$SUITE_DATA_DIR`` if set, else ``data/`` at the repository root."""
    return Path(os.environ.get("SUITE_DATA_DIR", REPO_ROOT / "data"))
