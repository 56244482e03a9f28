"""Image data as uint8 tensors in memory, a fixed train/validation split, and batch augmentation.

Fashion-MNIST and MNIST come from the packaged idx files (``suite_data.images``); CIFAR-10 from a
folder the user names (``cifar-10-batches-py`` inside it, as torchvision reads it: nothing is
downloaded). The validation split is drawn once from the training set with a fixed seed (the same
for every run, whatever its seed); the official test split is only scored, never tuned on.
Augmentation is the standard one (random crop with 4 pixels of zero padding, horizontal flip),
done on whole batches with a ``torch.Generator`` so a run is reproducible and resumes exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

DATASETS = ("fashion-mnist", "mnist", "cifar10")
SPLIT_SEED = 12345  # the validation split: one for every run
# per-channel mean and std of the training images (for normalisation)
STATS = {"fashion-mnist": ((0.2860,), (0.3530,)), "mnist": ((0.1307,), (0.3081,)),
         "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))}


class MissingDatasetError(FileNotFoundError):
    """Data a user must bring is not where they said: one line naming the folder and what to do."""

    def __str__(self) -> str:
        return self.args[0]


@dataclass
class Split:
    images: torch.Tensor  # uint8, (N, C, H, W)
    labels: torch.Tensor  # int64, (N,)


def _cifar10(folder: Path | None, train: bool):
    from torchvision import datasets  # noqa: PLC0415

    if folder is None:
        raise MissingDatasetError("CIFAR-10 is not available offline: pass --data-dir FOLDER, a folder holding "
                                  "cifar-10-batches-py (the 'CIFAR-10 python version' from "
                                  "https://www.cs.toronto.edu/~kriz/cifar.html, unpacked)")
    if not (Path(folder) / "cifar-10-batches-py").is_dir():
        raise MissingDatasetError(f"CIFAR-10 not found: {Path(folder) / 'cifar-10-batches-py'} does not exist "
                                  f"(unpack cifar-10-python.tar.gz into {folder})")
    try:
        data = datasets.CIFAR10(str(folder), train=train, download=False)
    except Exception as error:  # noqa: BLE001 - torchvision's integrity check or a damaged batch file
        raise MissingDatasetError(f"could not read CIFAR-10 under {folder}: {error}") from None
    return torch.from_numpy(data.data).permute(0, 3, 1, 2).contiguous(), torch.tensor(data.targets)


def check_available(name: str, folder: Path | None = None) -> None:
    """Raise MissingDatasetError (one line) when data the user must bring is not there."""
    if name == "cifar10":
        _cifar10(folder, False)


def load(name: str, train: bool, folder: Path | None = None) -> Split:
    """All images of one official split."""
    if name not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    if name == "cifar10":
        return Split(*_cifar10(folder, train))
    from suite_data.images import load_image_dataset  # noqa: PLC0415

    data = load_image_dataset(name, train=train)
    return Split(data.data.unsqueeze(1).contiguous(), data.targets.clone())


def train_valid(name: str, valid: int, limit: int | None = None, folder: Path | None = None) -> tuple[Split, Split]:
    """The training split less ``valid`` images held out for tuning (fixed: SPLIT_SEED), and those;
    ``limit`` keeps only the first ``limit`` training images after the split (for the tests)."""
    full = load(name, True, folder)
    if not 0 < valid < len(full.labels):
        raise ValueError(f"Invalid valid: {valid!r} (expected 0 < valid < {len(full.labels)})")
    order = torch.randperm(len(full.labels), generator=torch.Generator().manual_seed(SPLIT_SEED))
    held, kept = order[:valid], order[valid:]
    kept = kept[:limit] if limit else kept
    return Split(full.images[kept], full.labels[kept]), Split(full.images[held], full.labels[held])


def normalise(images: torch.Tensor, name: str) -> torch.Tensor:
    mean, std = (torch.tensor(v).view(1, -1, 1, 1) for v in STATS[name])
    return (images.float() / 255 - mean) / std


def augment(images: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random crop (zero padding ``pad``) and horizontal flip of a uint8 batch, per image."""
    n, _, h, w = images.shape
    padded = torch.nn.functional.pad(images, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    out = _crop(padded, dy, dx, h, w)
    flip = torch.rand(n, generator=generator) < 0.5
    out[flip] = out[flip].flip(-1)
    return out


def _crop(padded: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, h: int, w: int) -> torch.Tensor:
    n, c = padded.shape[:2]
    rows = (dy.view(n, 1) + torch.arange(h)).view(n, 1, h, 1).expand(n, c, h, padded.shape[3])
    picked = padded.gather(2, rows)  # (n, c, h, W + 2 pad)
    cols = (dx.view(n, 1) + torch.arange(w)).view(n, 1, 1, w).expand(n, c, h, w)
    return picked.gather(3, cols)
