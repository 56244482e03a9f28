"""Generator / critic pairs: 3 x 512 ReLU MLPs for 2-D data (as the WGAN-GP reference) and a
DCGAN-style conv pair for 28x28 images. The critic has no batch norm: the gradient penalty is
taken per sample, which batch norm would couple."""

from __future__ import annotations

from torch import nn


def mlp(in_dim: int, out_dim: int, hidden: int = 512, layers: int = 3) -> nn.Sequential:
    blocks, width = [], in_dim
    for _ in range(layers):
        blocks += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    return nn.Sequential(*blocks, nn.Linear(width, out_dim))


class ConvGenerator(nn.Module):
    def __init__(self, z_dim: int = 64, width: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(z_dim, 4 * width * 7 * 7), nn.ReLU(), nn.Unflatten(1, (4 * width, 7, 7)),
            nn.ConvTranspose2d(4 * width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.ConvTranspose2d(2 * width, 1, 4, 2, 1), nn.Tanh(),
        )

    def forward(self, z):
        return self.net(z)


class ConvCritic(nn.Module):
    def __init__(self, width: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(2 * width * 7 * 7, 1),
        )

    def forward(self, x):
        return self.net(x)


def build_models(toy: bool, z_dim: int, width: int):
    """(generator, critic) for the data kind: MLPs for 2-D data, the conv pair for images."""
    if toy:
        return mlp(z_dim, 2, hidden=width), mlp(2, 1, hidden=width)
    return ConvGenerator(z_dim, width), ConvCritic(width)
