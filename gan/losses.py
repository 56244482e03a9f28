"""WGAN-GP objective (Gulrajani et al. 2017)."""

from __future__ import annotations

import torch


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """mean over the batch of (||grad_x D(x_hat)||_2 - 1)^2, x_hat = alpha real + (1 - alpha) fake."""
    shape = (-1,) + (1,) * (real.dim() - 1)
    x_hat = (alpha.view(shape) * real + (1 - alpha.view(shape)) * fake).requires_grad_(True)
    scores = critic(x_hat)
    (grads,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    return ((grads.flatten(1).norm(dim=1) - 1) ** 2).mean()


def critic_loss(critic, real, fake, alpha, gp_lambda: float):
    """Returns (loss, wasserstein_estimate, penalty): loss = D(fake) - D(real) + lambda * GP."""
    d_real, d_fake = critic(real).mean(), critic(fake).mean()
    penalty = gradient_penalty(critic, real, fake, alpha)
    return d_fake - d_real + gp_lambda * penalty, (d_real - d_fake).detach(), penalty.detach()
