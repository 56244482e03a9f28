"""Fetch a Debian package's files without installing it: ``apt-get download`` + ``dpkg -x``."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from .locations import data_dir

DEBIAN_PACKAGES = ("dataset-fashion-mnist", "sword-text-kjv", "sword-text-sparv", "trans-de-en")


class MissingDataError(RuntimeError):
    """A data source is not there; the message says the exact command that fetches it."""


def package_root(package: str) -> Path:
    return data_dir() / "debs" / package


def fetch_deb(package: str, quiet: bool = True) -> Path:
    """Unpack ``package`` under data/debs/<package>/ (once) and return that folder."""
    root = package_root(package)
    if (root / ".complete").exists():
        return root
    for tool in ("apt-get", "dpkg"):
        if shutil.which(tool) is None:
            raise MissingDataError(
                f"{tool} is not available, so the Debian package {package!r} cannot be fetched. On a "
                f"Debian/Ubuntu machine run: python -m suite_data fetch  (it runs: cd /tmp && "
                f"apt-get download {package} && dpkg -x {package}_*.deb {root})"
            )
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(["apt-get", "download", package], cwd=tmp, capture_output=True,
                                text=True)
        debs = list(Path(tmp).glob(f"{package}_*.deb"))
        if result.returncode != 0 or not debs:
            raise MissingDataError(
                f"'apt-get download {package}' failed ({result.stderr.strip()[-300:]}). Try "
                f"'apt-get update' first, then: python -m suite_data fetch"
            )
        root.mkdir(parents=True, exist_ok=True)
        subprocess.run(["dpkg", "-x", str(debs[0]), str(root)], check=True)
    (root / ".complete").write_text(debs[0].name + "\n")
    if not quiet:
        print(f"fetched {package} -> {root}")
    return root
