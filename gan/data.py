"""Data: the WGAN-GP paper's 2-D toy mixtures, and MNIST / Fashion-MNIST (28x28, scaled to [-1, 1]).

Every batch is drawn from a ``torch.Generator`` owned by the trainer, so a run is reproducible
and resumes exactly (the generator's state is part of the checkpoint).
"""

from __future__ import annotations

import math

import torch

TOY_DATASETS = ("8gaussians", "25gaussians", "swissroll")
IMAGE_DATASETS = ("mnist", "fashion-mnist")
DATASETS = TOY_DATASETS + IMAGE_DATASETS


def sample_toy(name: str, n: int, generator: torch.Generator) -> torch.Tensor:
    """As in the reference implementation (gulrajani/improved_wgan_training, gan_toy.py)."""
    if name == "8gaussians":
        angles = torch.arange(8) * (2 * math.pi / 8)
        centers = torch.stack([angles.cos(), angles.sin()], 1) * 2.0
        index = torch.randint(8, (n,), generator=generator)
        points = centers[index] + 0.02 * torch.randn(n, 2, generator=generator)
        return points / 1.414
    if name == "25gaussians":
        grid = torch.arange(-2, 3, dtype=torch.float32) * 2.0
        centers = torch.cartesian_prod(grid, grid)
        index = torch.randint(25, (n,), generator=generator)
        points = centers[index] + 0.05 * torch.randn(n, 2, generator=generator)
        return points / 2.828
    if name == "swissroll":
        t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=generator))
        points = torch.stack([t * t.cos(), t * t.sin()], 1) + 0.25 * torch.randn(n, 2, generator=generator)
        return points / 7.5
    raise ValueError(f"Unknown toy dataset {name!r}; choose one of: {', '.join(TOY_DATASETS)}")


class ImageSource:
    """All training images of a dataset as one float tensor in [-1, 1], shape (N, 1, 28, 28)."""

    def __init__(self, name: str, limit: int | None = None):
        from suite_data.images import load_image_dataset

        dataset = load_image_dataset(name, train=True)
        images = dataset.data[:limit] if limit else dataset.data
        self.images = images.float().div(127.5).sub(1.0).unsqueeze(1)
        self.labels = dataset.targets[: len(self.images)]

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        index = torch.randint(len(self.images), (n,), generator=generator)
        return self.images[index]


class DataSource:
    def __init__(self, name: str, image_limit: int | None = None):
        if name not in DATASETS:
            raise ValueError(f"Unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
        self.name = name
        self.is_toy = name in TOY_DATASETS
        self.images = None if self.is_toy else ImageSource(name, image_limit)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return sample_toy(self.name, n, generator) if self.is_toy else self.images.sample(n, generator)
