"""Train a WGAN-GP: full training, or the AdaShift paper's critic-only protocol.

    python -m gan.train --dataset 8gaussians --iterations 2000 --out runs/gan/toy-adam
    python -m gan.train --dataset fashion-mnist --critic-optimizer adashift --preset adashift-paper \
        --fixed-generator --iterations 500 --out runs/gan/fmnist-critic-adashift
    torchrun --nproc_per_node 2 -m gan.train ...      # data-parallel (gloo on CPU, nccl on GPU)

One iteration is n_critic critic steps and one generator step; with --fixed-generator it is one
critic step against a generator that never changes (for 2-D data the reference holds it at real
data plus Gaussian noise; for images it is a randomly initialised generator). A run directory
holds TensorBoard events, config.json, last.pt and best.pt; running again with the same --out
resumes from last.pt exactly. A run directory belongs to one configuration: resuming it with other
options is refused, naming them, before anything is written (only --iterations and the logging
intervals may change, to extend a run). If last.pt is unreadable (truncated by a crash), the run
resumes from best.pt with a warning, or stops with a message naming both files.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from optim_plugins import OPTIMIZERS, optimizer_kwargs
from optim_plugins.registry import accepted_keywords, build_any, resolve_optimizer
from optim_plugins.diagnostics import DecorrelationProbe
from suite_results import devices, locks, rundir
from suite_results.cli import UserError, json_object, run_cli
from suite_results.files import atomic_savefig, atomic_torch_save, finite_or_none

from .data import DATASETS, DataSource
from .losses import LOSSES, critic_loss, generator_loss
from .models import build_models
from .plots import sample_figure
from .quality import QualityMeter

PRESETS = {
    # Gulrajani et al.: Adam lr 1e-4, betas (0.5, 0.9).
    "wgan-gp": {"betas": (0.5, 0.9)},
    # The AdaShift paper's WGAN runs: beta1 0, beta2 0.999, keep_num 1; lr 2e-4 for AdaShift and
    # 1e-5 for Adam / AMSGrad (we use 1e-5 for AdamAL and AdamNC too).
    "adashift-paper": {"betas": (0.0, 0.999), "keep_num": 1, "lr": {"adashift": 2e-4, "default": 1e-5}},
}


# May change when a run is resumed: how long it runs and how often it logs, evaluates, saves.
RESUMABLE_CHANGES = ("iterations", "log_every", "eval_every", "checkpoint_every", "device", "out", "diagnostics_every")


class TrainingDiverged(UserError):
    pass


@dataclass
class GANConfig:
    dataset: str = "8gaussians"
    iterations: int = 1000
    batch_size: int = 256
    n_critic: int = 5
    loss: str = "wgan-gp"  # or "adashift-maxgp", the AdaShift authors' WGAN loss (gan/losses.py)
    gp_lambda: float | None = None  # None: 0.1 for 2-D data and adashift-maxgp, 10 for images (WGAN-GP)
    fixed_generator: bool = False
    fixed_noise_std: float = 0.1  # 2-D fixed generator: real data plus this much Gaussian noise
    critic_optimizer: str = "adam"
    generator_optimizer: str = "adam"
    preset: str = "wgan-gp"
    critic_lr: float | None = None  # None: from the preset (1e-4 for wgan-gp)
    generator_lr: float | None = None
    keep_num: int | None = None  # AdaShift; None: from the preset (default 10)
    reduce: str = "max"
    z_dim: int | None = None  # None: 2 for 2-D data, 64 for images
    width: int | None = None  # None: 512 for 2-D data, 64 for images
    image_limit: int | None = None  # use only the first N training images
    seed: int = 0
    log_every: int = 10
    eval_every: int = 100
    checkpoint_every: int = 100
    eval_samples: int = 2000
    diagnostics_every: int = 0  # N > 0: log optim_plugins.diagnostics every N optimizer steps (TensorBoard)
    device: str = "auto"
    out: str = "runs/gan/run"
    # added later: in a run's key only when set (record()), so no earlier key changes
    critic_optimizer_options: dict | None = None  # an outside critic optimizer's (module:Class) other keywords

    def __post_init__(self):
        problems = []
        if self.dataset not in DATASETS:
            problems.append(f"dataset {self.dataset!r} (choose one of: {', '.join(DATASETS)})")
        for role in ("critic_optimizer", "generator_optimizer"):
            if getattr(self, role) not in OPTIMIZERS:
                try:  # module:Class of any torch optimizer
                    resolve_optimizer(getattr(self, role))
                except ValueError as error:
                    problems.append(f"{role}: {error} (or one of: {', '.join(OPTIMIZERS)})")
        if self.preset not in PRESETS:
            problems.append(f"preset {self.preset!r} (choose one of: {', '.join(PRESETS)})")
        if self.loss not in LOSSES:
            problems.append(f"loss {self.loss!r} (choose one of: {', '.join(LOSSES)})")
        if self.gp_lambda is not None and not self.gp_lambda >= 0:
            problems.append(f"gp_lambda {self.gp_lambda!r} (must be >= 0)")
        if self.n_critic < 1:
            problems.append(f"n_critic {self.n_critic!r} (must be >= 1)")
        for name in ("iterations", "batch_size", "log_every", "eval_every", "checkpoint_every", "eval_samples"):
            if not _is_int(getattr(self, name)) or getattr(self, name) < (2 if name == "eval_samples" else 1):
                problems.append(f"{name} {getattr(self, name)!r} (must be an integer >= "
                                f"{2 if name == 'eval_samples' else 1})")
        if not _is_int(self.diagnostics_every) or self.diagnostics_every < 0:
            problems.append(f"diagnostics_every {self.diagnostics_every!r} (must be an integer >= 0; 0 is off)")
        elif self.diagnostics_every and "sgd" in (self.critic_optimizer, self.generator_optimizer):
            problems.append("diagnostics_every needs an adaptive optimizer (not sgd)")
        for name in ("keep_num", "z_dim", "width", "image_limit"):  # None: the default
            value = getattr(self, name)
            if value is not None and (not _is_int(value) or value < 1):
                problems.append(f"{name} {value!r} (must be an integer >= 1, or left out for the default)")
        for name in ("critic_lr", "generator_lr"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                problems.append(f"{name} {value!r} (must be a finite number > 0)")
        if not (math.isfinite(self.fixed_noise_std) and self.fixed_noise_std >= 0):
            problems.append(f"fixed_noise_std {self.fixed_noise_std!r} (must be a finite number >= 0)")
        if self.reduce not in ("none", "max", "mean"):
            problems.append(f"reduce {self.reduce!r} (choose one of: none, max, mean)")
        if (device := devices.device_problem(self.device)) is not None:
            problems.append(f"device {device} (--device)")
        if problems:
            raise ValueError("Invalid GAN configuration: " + "; ".join(problems))
        toy = self.dataset in ("8gaussians", "25gaussians", "swissroll")
        if self.gp_lambda is None:
            self.gp_lambda = 0.1 if toy or self.loss == "adashift-maxgp" else 10.0
        self.z_dim = (2 if toy else 64) if self.z_dim is None else self.z_dim
        self.width = (512 if toy else 64) if self.width is None else self.width

    def record(self) -> dict:
        """The configuration as it keys a run: fields added later are left out while unset."""
        record = dataclasses.asdict(self)
        if record.get("critic_optimizer_options") is None:
            record.pop("critic_optimizer_options", None)
        return record

    def optimizer_kwargs(self, role: str) -> dict:
        """The constructor kwargs of the critic's or generator's optimizer (through the registry: SGD
        keeps its own momentum, 0.9; AdamNC takes the preset's beta1). An outside optimizer
        (module:Class) gets the lr, the preset's betas where it takes betas, and its own options."""
        name = getattr(self, f"{role}_optimizer")
        preset = PRESETS[self.preset]
        lr = getattr(self, f"{role}_lr")
        if lr is None:
            table = preset.get("lr", {})
            lr = table.get(name, table.get("default", 1e-4)) if table else 1e-4
        if name not in OPTIMIZERS:
            takes = accepted_keywords(resolve_optimizer(name))
            betas = {"betas": preset["betas"]} if takes is None or "betas" in takes else {}
            options = self.critic_optimizer_options if role == "critic" else None
            return {"lr": lr, **betas, **(options or {})}
        keep_num = preset.get("keep_num", 10) if self.keep_num is None else self.keep_num
        return optimizer_kwargs(name, lr=lr, betas=preset["betas"], keep_num=keep_num, reduce=self.reduce)


def _distributed() -> tuple[int, int]:
    if "RANK" not in os.environ or dist.is_initialized():
        return (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
    dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), dist.get_world_size()


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class Trainer:
    def __init__(self, config: GANConfig):
        self.config = config
        self.rank, self.world = _distributed()
        if config.batch_size % self.world:
            raise ValueError(f"batch_size {config.batch_size} must divide by the {self.world} processes")
        self.device = devices.resolve(config.device, self.rank)
        torch.manual_seed(config.seed)
        self.data = DataSource(config.dataset, config.image_limit)
        generator, critic = build_models(self.data.is_toy, config.z_dim, config.width)
        self.generator, self.critic = generator.to(self.device), critic.to(self.device)
        self.rng = torch.Generator().manual_seed(config.seed + 1)  # all sampling: data, z, alpha
        self.opt_c = build_any(config.critic_optimizer, self.critic.parameters(),
                                     **config.optimizer_kwargs("critic"))
        if config.fixed_generator:
            self.generator.eval()  # frozen: not even batch-norm running statistics change
        self.opt_g = None if config.fixed_generator else build_any(
            config.generator_optimizer, self.generator.parameters(), **config.optimizer_kwargs("generator"))
        self.probes = {}
        if config.diagnostics_every:
            optimizers = {"critic": self.opt_c, "generator": self.opt_g}
            self.probes = {role: DecorrelationProbe(o, every=config.diagnostics_every)
                           for role, o in optimizers.items() if o is not None}
        self.critic_step = self.critic
        self.generator_step = self.generator
        if self.world > 1:
            self.critic_step = DistributedDataParallel(self.critic)
            if self.opt_g is not None:
                self.generator_step = DistributedDataParallel(self.generator)
        self.out = Path(config.out)
        self.iteration, self.best = 0, math.inf
        self.quality = QualityMeter(self.data, config, self.out)

    # -- sampling (the global batch is drawn on every rank; each takes its slice) -------------------
    def _slice(self, batch: torch.Tensor) -> torch.Tensor:
        per_rank = len(batch) // self.world
        return batch[self.rank * per_rank:(self.rank + 1) * per_rank].to(self.device)

    def _real(self):
        return self._slice(self.data.sample(self.config.batch_size, self.rng))

    def _z(self, n=None):
        return torch.randn(n or self.config.batch_size, self.config.z_dim, generator=self.rng)

    def _fake(self, train_generator: bool = False):
        if self.config.fixed_generator and self.data.is_toy:
            real = self.data.sample(self.config.batch_size, self.rng)
            noise = torch.randn(real.shape, generator=self.rng) * self.config.fixed_noise_std
            return self._slice(real + noise)
        z = self._slice(self._z())
        if train_generator:
            return self.generator_step(z)
        with torch.no_grad():
            return self.generator(z)

    # -- steps -----------------------------------------------------------------------------------
    def critic_update(self) -> dict:
        real, fake = self._real(), self._fake()
        alpha = self._slice(torch.rand(self.config.batch_size, generator=self.rng))
        self.opt_c.zero_grad(set_to_none=True)
        loss, wasserstein, penalty = critic_loss(self.critic_step, real, fake, alpha, self.config.gp_lambda,
                                                 self.config.loss)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(self.critic.parameters(), float("inf"))
        self.opt_c.step()
        return {"critic_loss": loss.detach(), "wasserstein": wasserstein, "gradient_penalty": penalty,
                "critic_grad_norm": norm}

    def generator_update(self) -> dict:
        self.opt_g.zero_grad(set_to_none=True)
        loss = generator_loss(self.critic_step(self._fake(train_generator=True)), self.config.loss)
        loss.backward()
        self.opt_g.step()
        self.opt_c.zero_grad(set_to_none=True)  # the generator step also reached the critic
        return {"generator_loss": loss.detach()}

    def train_iteration(self) -> dict:
        steps = 1 if self.config.fixed_generator else self.config.n_critic
        for _ in range(steps):
            stats = self.critic_update()
        if self.opt_g is not None:
            stats.update(self.generator_update())
        stats = {k: float(v) for k, v in stats.items()}
        bad = {k: v for k, v in stats.items() if not math.isfinite(v)}
        if bad:
            raise TrainingDiverged(
                f"non-finite {bad} at iteration {self.iteration + 1}; stopped. The last good checkpoint "
                f"is {self.out / 'last.pt'} (lower the learning rate or check the data)")
        return stats

    # -- checkpoints ------------------------------------------------------------------------------
    def state(self) -> dict:
        return {"config": self.config.record(), "iteration": self.iteration, "best": self.best,
                "generator": self.generator.state_dict(), "critic": self.critic.state_dict(),
                "opt_c": self.opt_c.state_dict(), "opt_g": self.opt_g.state_dict() if self.opt_g else None,
                "rng": self.rng.get_state()}

    def save(self, best: bool = False) -> None:
        if self.rank != 0:
            return
        state = self.state()
        atomic_torch_save(state, self.out / "last.pt")
        if best:
            atomic_torch_save(state, self.out / "best.pt")

    def _load_checkpoint(self) -> dict | None:
        """last.pt, or best.pt with a warning when last.pt is unreadable; None for a new run."""
        last, best = self.out / "last.pt", self.out / "best.pt"
        if not last.exists():
            return None
        errors = []
        for path in (last, best):
            if not path.exists():
                continue
            try:
                state = torch.load(path, map_location=self.device, weights_only=True)
            except Exception as error:  # noqa: BLE001 - truncated zip, EOF, unpickling: all mean unreadable
                errors.append(f"{path}: {type(error).__name__}: {str(error).strip().splitlines()[0][:160] if str(error).strip() else ''}")
                continue
            if path == best:
                warnings.warn(f"{last} is unreadable ({errors[0]}); resuming from {best} (iteration "
                              f"{state['iteration']}) instead", RuntimeWarning, stacklevel=2)
            return state
        raise UserError(f"cannot resume: {' and '.join(errors)}. The files were left as they are; move them "
                        f"away to start this run afresh")

    def try_resume(self) -> bool:
        state = self._load_checkpoint()
        if state is None:
            return False
        recorded = {"loss": "wgan-gp", **state["config"]}  # saved before the loss option existed: WGAN-GP
        keys = rundir.differing_keys(recorded, self.config.record(), RESUMABLE_CHANGES)
        if keys:
            raise rundir.mismatch(self.out, state["config"], self.config.record(), keys)
        self.generator.load_state_dict(state["generator"])
        self.critic.load_state_dict(state["critic"])
        self.opt_c.load_state_dict(state["opt_c"])
        if self.opt_g is not None:
            self.opt_g.load_state_dict(state["opt_g"])
        self.rng.set_state(state["rng"])
        self.iteration, self.best = state["iteration"], state["best"]
        return True

    # -- the loop --------------------------------------------------------------------------------
    def fit(self) -> dict:
        """Train (or resume) to ``iterations``. The run directory has one writer: another process
        training it is refused at once, naming it (``suite_results.locks``; the kernel frees the lock
        when a process dies, so a ``kill -9`` never leaves it stuck)."""
        if self.rank != 0:
            return self._fit()
        with locks.hold(self.out):
            return self._fit()

    def _fit(self) -> dict:
        config, main = self.config, self.rank == 0
        if main:  # checks the recorded configuration before anything is written
            rundir.claim(self.out, config.record(), ignore=RESUMABLE_CHANGES, filename="config.json",
                         defaults={"loss": "wgan-gp", "diagnostics_every": 0})
        resumed = self.try_resume()
        if self.iteration >= config.iterations:  # finished already: no events file for nothing to train
            return {"iteration": self.iteration, "resumed": resumed, "best_quality": self.best,
                    "iterations_per_second": None}
        writer = SummaryWriter(str(self.out)) if main else None
        if main:
            writer.add_text("config", "```\n" + json.dumps(config.record(), indent=1) + "\n```",
                            self.iteration)
        # disable=None: no bar when the output is not a terminal (a log file gets no \r refreshes)
        progress = tqdm(total=config.iterations, initial=self.iteration, disable=None if main else True,
                        desc=f"{config.dataset} {config.critic_optimizer}", mininterval=1.0)
        last_stats, started = {}, time.perf_counter()
        start_iteration = self.iteration
        while self.iteration < config.iterations:
            stats = self.train_iteration()
            self.iteration += 1
            last_stats = stats
            if main and self.iteration % config.log_every == 0:
                for key, value in stats.items():
                    writer.add_scalar(f"train/{key}", value, self.iteration)
                writer.add_scalar("train/lr_critic", self.opt_c.param_groups[0]["lr"], self.iteration)
                for role, probe in self.probes.items():
                    for key, value in (probe.summary() or {}).items():
                        writer.add_scalar(f"diagnostics/{role}_{key}", value, self.iteration)
                if self.opt_g is not None:
                    writer.add_scalar("train/lr_generator", self.opt_g.param_groups[0]["lr"], self.iteration)
                progress.set_postfix({k: f"{v:.3g}" for k, v in stats.items() if k != "critic_grad_norm"})
            is_best = False
            if self.iteration % config.eval_every == 0 or self.iteration == config.iterations:
                quality = self.evaluate(writer) if main else None
                if quality is not None and quality < self.best:
                    self.best, is_best = quality, True
            if self.iteration % config.checkpoint_every == 0 or self.iteration == config.iterations or is_best:
                self.save(best=is_best)
            progress.update(1)
        progress.close()
        elapsed = time.perf_counter() - started
        if main:
            writer.add_scalar("speed/iterations_per_second",
                              (self.iteration - start_iteration) / max(elapsed, 1e-9), self.iteration)
            writer.close()
        return {"iteration": self.iteration, "resumed": resumed, "best_quality": self.best, **last_stats,
                "iterations_per_second": (self.iteration - start_iteration) / max(elapsed, 1e-9)}

    @torch.no_grad()
    def evaluate(self, writer) -> float:
        was_training = self.generator.training
        self.generator.eval()
        generated = self.sample_for_eval()
        self.generator.train(was_training)
        name, value = self.quality(generated)
        writer.add_scalar(f"quality/{name}", value, self.iteration)
        for extra, extra_value in self.quality.extras.items():
            writer.add_scalar(f"quality/{extra}", extra_value, self.iteration)
        figure = sample_figure(self, generated)
        atomic_savefig(figure, self.out / "samples.png", dpi=90)  # the latest samples, beside the checkpoints
        writer.add_figure("samples", figure, self.iteration)
        return value

    def sample_for_eval(self) -> torch.Tensor:
        n = self.config.eval_samples
        evaluation_rng = torch.Generator().manual_seed(12345)  # same z every time; leaves self.rng alone
        if self.config.fixed_generator and self.data.is_toy:
            real = self.data.sample(n, evaluation_rng)
            return real + torch.randn(real.shape, generator=evaluation_rng) * self.config.fixed_noise_std
        z = torch.randn(n, self.config.z_dim, generator=evaluation_rng).to(self.device)
        return torch.cat([self.generator(z[i:i + 500]) for i in range(0, n, 500)]).cpu()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gan.train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for f in dataclasses.fields(GANConfig):
        flag = "--" + f.name.replace("_", "-")
        default = f.default
        if f.type in ("bool",) or isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)  # --no-... too
            continue
        kind = {"int": int, "float": float, "str": str}.get(str(f.type).split(" ")[0], None)
        if kind is None:
            kind = float if "float" in str(f.type) else int if "int" in str(f.type) else str
        if f.name == "critic_optimizer_options":
            parser.add_argument(flag, type=json_object, default=None,
                                help="an outside critic optimizer's other constructor keywords, as a JSON object")
            continue
        choices = {"dataset": DATASETS, "preset": list(PRESETS), "loss": list(LOSSES),
                   "reduce": ["none", "max", "mean"]}.get(f.name)
        parser.add_argument(flag, type=kind, default=default, choices=choices)
    return parser


def main(argv=None) -> dict:
    args = _parser().parse_args(argv)
    try:
        config = GANConfig(**vars(args))
    except ValueError as error:
        _parser().error(str(error))
    result = Trainer(config).fit()
    if result and (not dist.is_initialized() or dist.get_rank() == 0):
        print(json.dumps(finite_or_none(result), allow_nan=False))
    if dist.is_initialized():
        dist.destroy_process_group()
    return result


if __name__ == "__main__":
    run_cli("python -m gan.train", main)
