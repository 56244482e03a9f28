"""Decorrelation in real training: a small MLP on MNIST, recorded per element of one layer.

* For Adam and AdaShift: per element, the Pearson correlation over time between |g_t| and the
  effective step size lr / (sqrt(vhat_t) + eps) (vhat = the bias-corrected v used at step t).
  The AdaShift paper's claim: negative for Adam (v_t contains g_t^2), about zero for AdaShift
  (v_t is built from g_{t-n}).
* For AMSGrad (the AdamAL paper's 'swap' statistics): how often the running max holds,
  vhat_t == vhat_{t-1}, per element, and the intervals between the steps where it moves.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from optim_plugins import build_optimizer, optimizer_kwargs
from optim_plugins.adashift import active_steps, bias_corrections2
from suite_data.images import load_image_dataset


def mnist_tensors(samples: int = 10_000, seed: int = 0):
    dataset = load_image_dataset("mnist", train=True)
    generator = torch.Generator().manual_seed(seed)
    index = torch.randperm(len(dataset), generator=generator)[:samples]
    images = dataset.data[index].float().div(255).sub(0.1307).div(0.3081).flatten(1)
    return images, dataset.targets[index]


def _effective_step(optimizer, param, name: str, lr: float) -> torch.Tensor:
    state, group = optimizer.state[param], optimizer.param_groups[0]
    beta2, eps = group["betas"][1], group["eps"]
    if name == "adashift":
        active = active_steps(state["active_since"], int(state["step"].item()))
        correction = bias_corrections2(beta2, active)
        v = state["exp_avg_sq"] / correction
    else:
        step = state["step"].item()
        key = "max_exp_avg_sq" if name == "amsgrad" else "exp_avg_sq"
        v = state[key] / (1 - beta2**step)
    return lr / (v.sqrt() + eps)


def record_training(name: str, steps: int = 400, batch: int = 64, hidden: int = 64, lr: float = 1e-3,
                    seed: int = 0, diagnostics: bool = True, **hyperparameters) -> dict:
    """Train 784-hidden-10 with ``name``; record |g|, effective steps and v of the output layer
    (``diagnostics=False``: the losses only)."""
    torch.manual_seed(seed)
    images, labels = mnist_tensors(seed=seed)
    model = nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10))
    layer = model[2].weight
    optimizer = build_optimizer(name, model.parameters(), **optimizer_kwargs(name, lr=lr, **hyperparameters))
    generator = torch.Generator().manual_seed(seed)
    grads, effective, held, losses = [], [], [], []
    previous_max = None
    for _ in range(steps):
        index = torch.randint(len(images), (batch,), generator=generator)
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(images[index]), labels[index])
        loss.backward()
        if diagnostics:
            grads.append(layer.grad.detach().abs().clone())
        optimizer.step()
        losses.append(loss.item())
        if not diagnostics:
            continue
        effective.append(_effective_step(optimizer, layer, name, lr))
        if name == "amsgrad":
            current = optimizer.state[layer]["max_exp_avg_sq"].clone()
            if previous_max is not None:
                held.append(current == previous_max)
            previous_max = current
    if not diagnostics:
        return {"losses": np.array(losses)}
    return {"abs_grad": torch.stack(grads).numpy(), "effective_step": torch.stack(effective).numpy(),
            "held": torch.stack(held).numpy() if held else None, "losses": np.array(losses)}


def per_element_correlation(a: np.ndarray, b: np.ndarray, skip: int = 0) -> np.ndarray:
    """Pearson correlation over time (axis 0) for every element; NaN where one side is constant."""
    a, b = a[skip:].reshape(len(a) - skip, -1), b[skip:].reshape(len(b) - skip, -1)
    a, b = a - a.mean(0), b - b.mean(0)
    denominator = np.sqrt((a * a).sum(0) * (b * b).sum(0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (a * b).sum(0) / denominator, np.nan)


def swap_statistics(held: np.ndarray) -> dict:
    """Fraction of steps where AMSGrad's max holds, per element, and the intervals between moves."""
    fraction = held.mean(0)
    intervals = []
    for column in held.reshape(len(held), -1).T:
        moves = np.nonzero(~column)[0]
        intervals.extend(np.diff(moves).tolist())
    return {"held_fraction": fraction, "intervals": np.array(intervals)}
