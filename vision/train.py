"""One image-classification run: ``run(VisionConfig(...))`` or ``python -m vision train``.

Every optimizer through the suite's ``build_optimizer``; one lr schedule for all (linear warmup
over ``warmup_epochs``, then cosine to 0, per iteration); weight decay applied the same way for all,
decoupled from the optimizer and from its lr: after each step every weight matrix/kernel (not the
biases or BatchNorm) shrinks by ``weight_decay * m_t``, with m_t the schedule's multiplier
(Loshchilov & Hutter's schedule-only scaling), so every candidate gets the same regulariser
whatever its lr. 5e-5 per step equals the usual SGD L2 of 5e-4 at lr 0.1.

Each epoch ends with the validation accuracy (the held-out part of the training split, for tuning)
and the test accuracy (the official test split, reported), a TensorBoard record (train/loss,
train/lr, valid/accuracy, test/accuracy) and a checkpoint (``last.pt``): a killed run resumes at
its last finished epoch and ends bit-identical to an uninterrupted one (the batch order and the
augmentation of epoch e come from a generator seeded with (seed, e)). The run directory has one
writer (``suite_results.locks``) and belongs to one configuration (``suite_results.rundir``).
A non-finite training loss stops the run as diverged.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from pathlib import Path

import torch
from tqdm import tqdm

from optim_plugins.registry import build_any, resolve_optimizer
from suite_results import locks, rundir
from suite_results.cli import json_object, run_cli
from suite_results.files import atomic_torch_save, atomic_write_text

from . import data, models

OPTIMIZERS = ("sgd", "adam", "amsgrad", "adamal", "adopt", "adashift", "adamnc")


@dataclasses.dataclass
class VisionConfig:
    dataset: str = "fashion-mnist"
    arch: str = "resnet8"
    optimizer: str = "adam"
    lr: float = 1e-3
    betas: tuple | None = None  # None: the optimizer's default
    keep_num: int | None = None  # AdaShift
    reduce: str | None = None  # AdaShift
    momentum: float | None = None  # SGD (None: 0.9)
    weight_decay: float = 5e-5  # decoupled, per step at the schedule's peak (module docstring)
    epochs: int = 10
    warmup_epochs: float = 0.5
    batch_size: int = 128
    valid: int = 5000
    train_limit: int | None = None
    seed: int = 1
    data_dir: str | None = None  # CIFAR-10 only: the folder holding cifar-10-batches-py
    out: str = "runs/vision/run"
    # added later: in a run's key only when set (record()), so no earlier key changes
    optimizer_options: dict | None = None  # other constructor keywords of an optimizer from outside (module:Class)

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            resolve_optimizer(self.optimizer)  # module:Class of any torch optimizer, else one line naming it
        if self.dataset not in data.DATASETS:
            raise ValueError(f"Unknown dataset {self.dataset!r}; choose one of: {', '.join(data.DATASETS)}")
        for name in ("epochs", "batch_size", "valid"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Invalid {name}: {value!r} (expected a whole number >= 1)")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"Invalid lr: {self.lr!r} (expected a positive number)")
        if not 0 <= self.warmup_epochs < self.epochs:
            raise ValueError(f"Invalid warmup_epochs: {self.warmup_epochs!r} (expected 0 <= warmup_epochs < epochs)")
        if self.weight_decay < 0:
            raise ValueError(f"Invalid weight_decay: {self.weight_decay!r} (expected >= 0)")
        if self.train_limit is not None and (isinstance(self.train_limit, bool) or not isinstance(self.train_limit, int)
                                             or self.train_limit < 1):
            raise ValueError(f"Invalid train_limit: {self.train_limit!r} (--train-limit: expected a whole number "
                             f">= 1, or left out for every training image)")
        self.betas = tuple(self.betas) if self.betas is not None else None

    def record(self) -> dict:
        """The configuration as it keys a run: fields added later are left out while unset."""
        record = dataclasses.asdict(self)
        if record["optimizer_options"] is None:
            del record["optimizer_options"]
        return record

    def optimizer_kwargs(self) -> dict:
        if self.optimizer not in OPTIMIZERS:  # an outside optimizer: its own keywords, as given
            return {"lr": self.lr, **({"betas": self.betas} if self.betas is not None else {}),
                    **(self.optimizer_options or {})}
        extras = {k: v for k, v in (("keep_num", self.keep_num), ("reduce", self.reduce)) if v is not None}
        if self.optimizer == "sgd":
            extras["momentum"] = 0.9 if self.momentum is None else self.momentum
        if self.betas is not None:
            extras["betas" if self.optimizer != "adamnc" else "beta1"] = (
                self.betas if self.optimizer != "adamnc" else self.betas[0])
        return {"lr": self.lr, **extras}


def multiplier(step: int, total: int, warmup: int) -> float:
    """The schedule: linear warmup to 1 over ``warmup`` steps, then cosine to 0 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


class TrainingDiverged(RuntimeError):
    """The training loss became non-finite."""


@torch.no_grad()
def accuracy(model, split: data.Split, name: str, batch: int = 1000) -> float:
    model.eval()
    correct = 0
    for start in range(0, len(split.labels), batch):
        images = data.normalise(split.images[start:start + batch], name)
        correct += int((model(images).argmax(1) == split.labels[start:start + batch]).sum())
    model.train()
    return 100.0 * correct / len(split.labels)


def run(config: VisionConfig) -> dict:
    """Train (or resume) ``config`` to its last epoch; returns the run's row (module docstring)."""
    out = Path(config.out)
    check_optimizer(config)  # nothing is written for an invalid command: the run directory is claimed after
    data.check_available(config.dataset, Path(config.data_dir) if config.data_dir else None)
    with locks.hold(out):
        rundir.claim(out, config.record(), ignore=("out",))
        return _run(config, out)


def check_optimizer(config: VisionConfig) -> None:
    """Build the optimizer on a stand-in parameter: its own checks name a bad --keep-num, --betas or
    --reduce before the run directory is claimed."""
    build_any(config.optimizer, [torch.zeros(1, requires_grad=True)], **config.optimizer_kwargs())


def _run(config: VisionConfig, out: Path) -> dict:
    torch.manual_seed(config.seed)
    train, valid = data.train_valid(config.dataset, config.valid, config.train_limit,
                                    Path(config.data_dir) if config.data_dir else None)
    test = data.load(config.dataset, False, Path(config.data_dir) if config.data_dir else None)
    model = models.build(config.arch, train.images.shape[1])
    optimizer = build_any(config.optimizer, model.parameters(), **config.optimizer_kwargs())
    decayed = [p for p in model.parameters() if p.dim() > 1]
    steps_per_epoch = math.ceil(len(train.labels) / config.batch_size)
    total, warmup = steps_per_epoch * config.epochs, round(config.warmup_epochs * steps_per_epoch)
    history, seconds, wall, epoch = [], 0.0, 0.0, 0
    if (out / "last.pt").exists():
        state = torch.load(out / "last.pt", map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history, seconds, epoch = state["history"], state["seconds"], state["epoch"]
        wall = state.get("wall_seconds", seconds)
    result = {"diverged": False}
    if epoch < config.epochs:
        from torch.utils.tensorboard import SummaryWriter  # noqa: PLC0415 - only when there is training

        writer = SummaryWriter(str(out))
        try:
            epoch, seconds, wall = _epochs(config, model, optimizer, decayed, train, valid, test, history,
                                           (seconds, wall), epoch, steps_per_epoch, total, warmup, writer, out)
        except TrainingDiverged as error:
            result = {"diverged": True, "diverged_at": str(error)}
        finally:
            writer.close()
    last = history[-1] if history else {}
    result.update({"epochs": epoch, "valid_accuracy": last.get("valid_accuracy"),
                   "test_accuracy": last.get("test_accuracy"), "train_loss": last.get("train_loss"),
                   "best_valid_accuracy": max((h["valid_accuracy"] for h in history), default=None),
                   "curve": history, "train_seconds": seconds, "wall_seconds": wall,
                   "parameters": sum(p.numel() for p in model.parameters())})
    atomic_write_text(out / "result.json", json.dumps(result, allow_nan=False))
    return result


def _epochs(config, model, optimizer, decayed, train, valid, test, history, clocks, epoch, steps_per_epoch,
            total, warmup, writer, out):
    seconds, wall = clocks  # training time; and the whole epochs' time, evaluation included
    base_lrs = [g["lr"] for g in optimizer.param_groups]
    progress = tqdm(total=config.epochs * steps_per_epoch, initial=epoch * steps_per_epoch, disable=None,
                    desc=f"{config.dataset} {config.arch} {config.optimizer}", mininterval=1.0)
    while epoch < config.epochs:
        started = time.perf_counter()
        generator = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
        order = torch.randperm(len(train.labels), generator=generator)
        losses = []
        for index in range(steps_per_epoch):
            step = epoch * steps_per_epoch + index
            m = multiplier(step, total, warmup)
            for group, lr in zip(optimizer.param_groups, base_lrs):
                group["lr"] = lr * m
            batch = order[index * config.batch_size:(index + 1) * config.batch_size]
            images = data.normalise(data.augment(train.images[batch], generator), config.dataset)
            loss = torch.nn.functional.cross_entropy(model(images), train.labels[batch])
            if not torch.isfinite(loss):
                raise TrainingDiverged(f"epoch {epoch + 1}, step {step + 1}: training loss {loss.item()}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if config.weight_decay:
                with torch.no_grad():
                    torch._foreach_mul_(decayed, 1 - config.weight_decay * m)
            losses.append(loss.item())
            if step % 50 == 0:
                writer.add_scalar("train/loss", losses[-1], step)
                writer.add_scalar("train/lr", optimizer.param_groups[0]["lr"], step)
            progress.update(1)
        for group, lr in zip(optimizer.param_groups, base_lrs):
            group["lr"] = lr  # checkpoints keep the base lr; the schedule is recomputed from the step
        epoch += 1
        seconds += time.perf_counter() - started
        entry = {"epoch": epoch, "train_loss": sum(losses) / len(losses),
                 "valid_accuracy": accuracy(model, valid, config.dataset),
                 "test_accuracy": accuracy(model, test, config.dataset)}
        history.append(entry)
        for key in ("valid_accuracy", "test_accuracy"):
            writer.add_scalar(key.replace("_", "/"), entry[key], epoch * steps_per_epoch)
        writer.flush()
        wall += time.perf_counter() - started
        atomic_torch_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "history": history,
                           "seconds": seconds, "wall_seconds": wall, "epoch": epoch}, out / "last.pt")
    progress.close()
    return epoch, seconds, wall


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m vision train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = VisionConfig()
    for f in dataclasses.fields(VisionConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.name == "betas":
            p.add_argument(flag, type=float, nargs=2, default=None)
        elif f.name in ("keep_num", "train_limit"):
            p.add_argument(flag, type=int, default=None)
        elif f.name in ("momentum",):
            p.add_argument(flag, type=float, default=None)
        elif f.name in ("reduce", "data_dir"):
            p.add_argument(flag, default=None)
        elif f.name == "optimizer_options":
            p.add_argument(flag, type=json_object, default=None,
                           help="an outside optimizer's other constructor keywords, as a JSON object")
        else:
            p.add_argument(flag, type=type(getattr(defaults, f.name)), default=getattr(defaults, f.name))
    return p


def main(argv=None) -> dict:
    args = parser().parse_args(argv)
    result = run(VisionConfig(**vars(args)))
    print(json.dumps({k: v for k, v in result.items() if k != "curve"}))
    return result


if __name__ == "__main__":
    run_cli("python -m vision train", main)
