"""Sample quality beside the losses.

* 2-D data: the sliced Wasserstein-1 distance between generated and real samples (exact 1-D W1 on
  sorted projections, averaged over random directions).
* Images: the Frechet distance between feature statistics of generated and real images, in the
  penultimate layer of a small CNN classifier that is trained once on the real training set and
  cached (Inception weights cannot be downloaded here; the numbers are not comparable to FID),
  and the kernel distance (KID: unbiased MMD^2 with the cubic polynomial kernel of Binkowski et
  al. 2018, unbiased also for small samples) in the same feature space; neither is comparable to
  published FID/KID, which use Inception features.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from scipy import linalg
from torch import nn

from suite_results.files import atomic_torch_save


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, projections: int = 128, seed: int = 0) -> float:
    generator = torch.Generator().manual_seed(seed)
    directions = torch.randn(a.shape[1], projections, generator=generator)
    directions /= directions.norm(dim=0, keepdim=True)
    pa, _ = (a.float() @ directions).sort(dim=0)
    pb, _ = (b.float() @ directions).sort(dim=0)
    return float((pa - pb).abs().mean())


class FeatureNet(nn.Module):
    def __init__(self, features: int = 64):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 3, 2, 1), nn.ReLU(),
            nn.Flatten(), nn.Linear(64 * 7 * 7, features), nn.ReLU(),
        )
        self.head = nn.Linear(features, 10)

    def forward(self, x):
        return self.head(self.body(x))


def train_feature_net(images: torch.Tensor, labels: torch.Tensor, epochs: int = 1, seed: int = 0) -> FeatureNet:
    torch.manual_seed(seed)
    net = FeatureNet()
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)
    for _ in range(epochs):
        order = torch.randperm(len(images))
        for start in range(0, len(images), 256):
            index = order[start:start + 256]
            optimizer.zero_grad()
            nn.functional.cross_entropy(net(images[index]), labels[index]).backward()
            optimizer.step()
    return net.eval()


def cached_feature_net(dataset: str, images: torch.Tensor, labels: torch.Tensor, cache_dir: Path) -> FeatureNet:
    """The classifier for ``dataset`` trained on these images, cached by dataset and count."""
    path = Path(cache_dir) / f"feature_net_{dataset}_{len(images)}.pt"
    if path.exists():
        net = FeatureNet()
        try:
            net.load_state_dict(torch.load(path, weights_only=True))
            return net.eval()
        except Exception as error:  # noqa: BLE001 - truncated file, wrong content: the cache is ours to rebuild
            warnings.warn(f"feature-net cache {path} is unreadable ({type(error).__name__}); retraining it",
                          RuntimeWarning, stacklevel=2)
    net = train_feature_net(images, labels)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_torch_save(net.state_dict(), path)
    return net


@torch.no_grad()
def features(net: FeatureNet, images: torch.Tensor) -> np.ndarray:
    return torch.cat([net.body(images[i:i + 512]) for i in range(0, len(images), 512)]).double().numpy()


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    mu_a, mu_b = a.mean(0), b.mean(0)
    ridge = 1e-6 * np.eye(a.shape[1])  # keeps sqrtm stable for small samples
    cov_a, cov_b = np.cov(a, rowvar=False) + ridge, np.cov(b, rowvar=False) + ridge
    root, _ = linalg.sqrtm(cov_a @ cov_b, disp=False)
    root = root.real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


def kernel_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Unbiased MMD^2 between samples a (m x d) and b (n x d), kernel k(x, y) = (x.y / d + 1)^3."""
    d = a.shape[1]
    k_aa, k_bb, k_ab = ((a @ a.T) / d + 1) ** 3, ((b @ b.T) / d + 1) ** 3, ((a @ b.T) / d + 1) ** 3
    m, n = len(a), len(b)
    if m < 2 or n < 2:
        raise ValueError(f"kernel_distance needs at least 2 samples on each side, got {m} and {n}")
    within_a = (k_aa.sum() - np.trace(k_aa)) / (m * (m - 1))
    within_b = (k_bb.sum() - np.trace(k_bb)) / (n * (n - 1))
    return float(within_a + within_b - 2 * k_ab.mean())
