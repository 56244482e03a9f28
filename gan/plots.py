"""Figures for TensorBoard: 2-D scatter over the critic's contours, or an image grid."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torchvision.utils import make_grid  # noqa: E402


@torch.no_grad()
def sample_figure(trainer, generated: torch.Tensor):
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    if trainer.data.is_toy:
        lim = 2.0
        xs = torch.linspace(-lim, lim, 100)
        grid = torch.cartesian_prod(xs, xs)
        scores = trainer.critic(grid.to(trainer.device)).cpu().view(100, 100).T
        ax.contourf(xs, xs, scores, levels=20, cmap="coolwarm", alpha=0.7)
        real = trainer.quality.reference[:1000]
        ax.scatter(real[:, 0], real[:, 1], s=2, c="black", label="real")
        ax.scatter(generated[:1000, 0], generated[:1000, 1], s=2, c="lime", label="generated")
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim))
        ax.legend(loc="upper right", fontsize=7)
    else:
        grid = make_grid(generated[:64].clamp(-1, 1), nrow=8, normalize=True, value_range=(-1, 1))
        ax.imshow(grid.permute(1, 2, 0).numpy())
        ax.axis("off")
    ax.set_title(f"iteration {trainer.iteration}")
    fig.tight_layout()
    return fig
