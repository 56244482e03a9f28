"""Run gan.train (under torchrun) and have every rank save its final parameters as rank<R>.pt."""

import sys

import torch

from gan import train

_fit = train.Trainer.fit


def fit_and_dump(self):
    result = _fit(self)
    state = {"generator": self.generator.state_dict(), "critic": self.critic.state_dict()}
    torch.save(state, self.out / f"rank{self.rank}.pt")
    return result


train.Trainer.fit = fit_and_dump

if __name__ == "__main__":
    train.main(sys.argv[1:])
