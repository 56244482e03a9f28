"""A small optimizer of a user's own, outside the library: the settle tests bring it in by import path
(``user_optimizer:SignMomentum``). Sign of a momentum average, scaled by lr (signSGD with momentum)."""

import torch


class SignMomentum(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-2, momentum=0.9):
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"Invalid momentum: {momentum!r}")
        super().__init__(params, {"lr": lr, "momentum": momentum})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                buffer = self.state[p].setdefault("momentum_buffer", torch.zeros_like(p))
                buffer.mul_(group["momentum"]).add_(p.grad, alpha=1 - group["momentum"])
                p.add_(buffer.sign(), alpha=-group["lr"])
        return loss


class NotAnOptimizer:
    def __init__(self, params, lr=1e-3):
        pass
