"""Straightforward float64 NumPy references of each update rule, written from the papers' formulas.

Independent of ``optim_plugins`` on purpose: no shared code, plain loops over steps and tensors,
the whole gradient history kept for AdaShift instead of a ring buffer.
"""

from __future__ import annotations

import numpy as np


class ReferenceAdam:
    """Adam / AMSGrad (max of raw v, then corrected) / AdamAL (v from max(g^2, v_{t-1}))."""

    def __init__(self, params, lr, betas, eps, weight_decay=0.0, decoupled=False,
                 amsgrad=False, max_ema=False):
        self.p = [np.array(x, dtype=np.float64) for x in params]
        self.lr, (self.b1, self.b2), self.eps = lr, betas, eps
        self.wd, self.decoupled, self.amsgrad, self.max_ema = weight_decay, decoupled, amsgrad, max_ema
        self.m = [np.zeros_like(x) for x in self.p]
        self.v = [np.zeros_like(x) for x in self.p]
        self.vmax = [np.zeros_like(x) for x in self.p]
        self.t = 0

    def step(self, grads):
        self.t += 1
        t = self.t
        for i, g in enumerate(grads):
            g = np.array(g, dtype=np.float64)
            if self.wd and self.decoupled:
                self.p[i] = self.p[i] * (1 - self.lr * self.wd)
            elif self.wd:
                g = g + self.wd * self.p[i]
            self.m[i] = self.b1 * self.m[i] + (1 - self.b1) * g
            new_square = np.maximum(g * g, self.v[i]) if self.max_ema else g * g
            self.v[i] = self.b2 * self.v[i] + (1 - self.b2) * new_square
            self.vmax[i] = np.maximum(self.vmax[i], self.v[i])
            v = self.vmax[i] if self.amsgrad else self.v[i]
            m_hat = self.m[i] / (1 - self.b1**t)
            v_hat = v / (1 - self.b2**t)
            self.p[i] = self.p[i] - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class ReferenceAdamNC:
    def __init__(self, params, lr, beta1, beta1_decay, eps, lr_decay, weight_decay=0.0):
        self.p = [np.array(x, dtype=np.float64) for x in params]
        self.lr, self.b1, self.decay, self.eps = lr, beta1, beta1_decay, eps
        self.lr_decay, self.wd = lr_decay, weight_decay
        self.m = [np.zeros_like(x) for x in self.p]
        self.squares = [[] for _ in self.p]  # every g^2 so far: v is their plain mean
        self.t = 0

    def step(self, grads):
        self.t += 1
        t = self.t
        for i, g in enumerate(grads):
            g = np.array(g, dtype=np.float64) + self.wd * self.p[i]
            beta1_t = self.b1 * self.decay ** (t - 1)
            self.m[i] = beta1_t * self.m[i] + (1 - beta1_t) * g
            self.squares[i].append(g * g)
            v = np.mean(self.squares[i], axis=0)
            lr_t = self.lr / np.sqrt(t) if self.lr_decay else self.lr
            self.p[i] = self.p[i] - lr_t * self.m[i] / (np.sqrt(v) + self.eps)


class ReferenceAdaShift:
    def __init__(self, params, lr, betas, keep_num, reduce, eps, weight_decay=0.0, decoupled=False):
        self.p = [np.array(x, dtype=np.float64) for x in params]
        self.lr, (self.b1, self.b2), self.n, self.reduce, self.eps = lr, betas, keep_num, reduce, eps
        self.wd, self.decoupled = weight_decay, decoupled
        self.history = [[] for _ in self.p]  # g_1, g_2, ... per tensor
        shape = lambda x: x.shape if reduce == "none" else ()
        self.v = [np.zeros(shape(x)) for x in self.p]
        self.k = [np.zeros(shape(x)) for x in self.p]  # steps since v turned on

    def _past(self, i, age):
        """g_{t-age}, zero before the first step."""
        hist = self.history[i]
        index = len(hist) - 1 - age
        return hist[index] if index >= 0 else np.zeros_like(self.p[i])

    def step(self, grads):
        for i, g in enumerate(grads):
            g = np.array(g, dtype=np.float64)
            if self.wd and self.decoupled:
                self.p[i] = self.p[i] * (1 - self.lr * self.wd)
            elif self.wd:
                g = g + self.wd * self.p[i]
            self.history[i].append(g)
            old_square = self._past(i, self.n) ** 2
            phi = {"none": old_square, "max": old_square.max(), "mean": old_square.mean()}[self.reduce]
            self.v[i] = self.b2 * self.v[i] + (1 - self.b2) * phi
            weights = [self.b1**a for a in range(self.n)]
            m = sum(w * self._past(i, a) for a, w in enumerate(weights)) / sum(weights)
            on = (self.v[i] > 0) | (self.k[i] > 0)
            self.k[i] = self.k[i] + on
            correction = np.maximum(1e-8, 1 - self.b2 ** self.k[i])
            update = m / (np.sqrt(self.v[i] / correction) + self.eps)
            self.p[i] = self.p[i] - self.lr * np.where(on, update, 0.0)


class ReferenceADOPT:
    """ADOPT (Taniguchi et al. 2024), clipped: normalise g_t by the v of the steps before, then
    momentum; the first call only sets v = g^2."""

    def __init__(self, params, lr, betas, eps, weight_decay=0.0, decoupled=False, clip_exponent=0.25):
        self.p = [np.array(x, dtype=np.float64) for x in params]
        self.lr, (self.b1, self.b2), self.eps = lr, betas, eps
        self.wd, self.decoupled, self.c = weight_decay, decoupled, clip_exponent
        self.m = [np.zeros_like(x) for x in self.p]
        self.v = [np.zeros_like(x) for x in self.p]
        self.calls = 0

    def step(self, grads):
        self.calls += 1
        updates_so_far = self.calls - 1
        for i, g in enumerate(grads):
            g = np.array(g, dtype=np.float64)
            if self.wd and not self.decoupled:
                g = g + self.wd * self.p[i]
            if self.calls == 1:
                self.v[i] = g * g
                continue
            if self.wd and self.decoupled:
                self.p[i] = self.p[i] * (1 - self.lr * self.wd)
            g_hat = g / np.maximum(np.sqrt(self.v[i]), self.eps)
            if self.c is not None:
                bound = updates_so_far ** self.c
                g_hat = np.clip(g_hat, -bound, bound)
            self.m[i] = self.b1 * self.m[i] + (1 - self.b1) * g_hat
            self.p[i] = self.p[i] - self.lr * self.m[i]
            self.v[i] = self.b2 * self.v[i] + (1 - self.b2) * g * g


class Maximizing:
    """``maximize=True`` as torch.optim defines it: the update rule of ``reference`` applied to -g (before
    any weight decay), so it ascends."""

    def __init__(self, reference):
        self.reference = reference

    @property
    def p(self):
        return self.reference.p

    def step(self, grads):
        self.reference.step([-np.asarray(g, dtype=np.float64) for g in grads])
