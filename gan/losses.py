"""Critic objectives: WGAN-GP (Gulrajani et al. 2017) and the AdaShift authors' WGAN loss.

``wgan-gp``: D(fake) - D(real) + lambda * mean (||grad D(x_hat)|| - 1)^2.
``adashift-maxgp`` (the AdaShift release, gan_realdata4.py with bWGANs on and bGP off): on real
samples -log sigmoid(D(x)) - D(x), on fakes -log sigmoid(-D(G(z))) + D(G(z)) (batch means), plus
the MaxGP penalty lambda * max over the interpolates of ||grad D(x_hat)||^2 (the authors' lambda 0.1).
The generator's loss is the mirror image of the fake term: -log sigmoid(D(G(z))) - D(G(z)) (the
authors never trained it in the critic experiment; -D(G(z)) for wgan-gp).
"""

from __future__ import annotations

import torch


import torch.nn.functional as F

LOSSES = ("wgan-gp", "adashift-maxgp")


def _interpolate_gradient_norms(critic, real, fake, alpha) -> torch.Tensor:
    """||grad_x D(x_hat)||_2 per sample, x_hat = alpha real + (1 - alpha) fake (differentiable)."""
    shape = (-1,) + (1,) * (real.dim() - 1)
    x_hat = (alpha.view(shape) * real + (1 - alpha.view(shape)) * fake).requires_grad_(True)
    (grads,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return grads.flatten(1).norm(dim=1)


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """mean over the batch of (||grad_x D(x_hat)||_2 - 1)^2, x_hat = alpha real + (1 - alpha) fake."""
    return ((_interpolate_gradient_norms(critic, real, fake, alpha) - 1) ** 2).mean()


def max_gradient_penalty(critic, real, fake, alpha) -> torch.Tensor:
    """The authors' MaxGP: max over the batch of ||grad_x D(x_hat)||_2^2."""
    return (_interpolate_gradient_norms(critic, real, fake, alpha) ** 2).max()


def critic_loss(critic, real, fake, alpha, gp_lambda: float, kind: str = "wgan-gp"):
    """Returns (loss, wasserstein_estimate, penalty) for the objective ``kind`` (module docstring)."""
    d_real, d_fake = critic(real), critic(fake)
    wasserstein = (d_real.mean() - d_fake.mean()).detach()
    if kind == "wgan-gp":
        penalty = gradient_penalty(critic, real, fake, alpha)
        return d_fake.mean() - d_real.mean() + gp_lambda * penalty, wasserstein, penalty.detach()
    if kind == "adashift-maxgp":
        penalty = max_gradient_penalty(critic, real, fake, alpha)
        data = (F.softplus(-d_real) - d_real).mean() + (F.softplus(d_fake) + d_fake).mean()  # -log sigmoid(t) = softplus(-t)
        return data + gp_lambda * penalty, wasserstein, penalty.detach()
    raise ValueError(f"Unknown loss {kind!r}; choose one of: {', '.join(LOSSES)}")


def generator_loss(d_fake: torch.Tensor, kind: str = "wgan-gp") -> torch.Tensor:
    if kind == "adashift-maxgp":
        return (F.softplus(-d_fake) - d_fake).mean()
    return -d_fake.mean()
