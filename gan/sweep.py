"""Compare optimizers on WGAN-GP: the critic-only protocol and full training, several seeds.

    python -m gan.sweep --dataset 8gaussians --iterations 300 --seeds 0 1 --out outputs/gan_sweep

Critic-only uses the AdaShift paper's preset (beta1 0, beta2 0.999, keep_num 1; lr 2e-4 for
AdaShift, 1e-5 for the others) against a fixed generator; full training uses the WGAN-GP
reference preset (Adam-style betas (0.5, 0.9), lr 1e-4) with the optimizer under test for both
networks (AdaShift with keep_num 1). Each run is a gan.train run under --runs, in a directory named by
protocol, optimizer, seed and a hash of its whole configuration: finished runs are reused and
interrupted ones resume only under exactly the same options (any other option gets its own
directory). Each finished run's row is kept as JSON under <out>/rows/ (named by the same hash), so
the results can be committed and a sweep continued on another machine. Writes results.csv,
results.md, summary.json (rows, the command, versions), critic_loss.png and, for image data, the
last samples of each optimizer's first seed (samples_<protocol>_<optimizer>.png). Image quality
is the Frechet distance and the kernel distance (KID) in the features of a small classifier
trained on the same data: comparable between these runs, not to published FID/KID. From Python:
``gan.sweep.run(SweepConfig(optimizers=["adam", "adashift"], seeds=[0]))`` returns the rows.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from optim_plugins import OPTIMIZERS  # noqa: E402
from suite_results import provenance, rundir, stats  # noqa: E402
from suite_results import tensorboard as tb  # noqa: E402
from suite_results.scalars import read_scalar, worked_seconds  # noqa: E402
from suite_results.cli import check_choices, command_line  # noqa: E402
from suite_results.files import atomic_savefig, atomic_write_text, write_csv  # noqa: E402
from suite_results.rows import read_row, write_row  # noqa: E402
from suite_results.stats import format_spread  # noqa: E402
from suite_results.tables import Document  # noqa: E402
from suite_results.cli import run_cli  # noqa: E402

from .data import DATASETS  # noqa: E402
from .train import GANConfig, Trainer  # noqa: E402

PROTOCOLS = {
    "critic-only": dict(fixed_generator=True, preset="adashift-paper"),
    "full": dict(fixed_generator=False, preset="wgan-gp", keep_num=1),
}


def scalars(run_dir: Path, tag: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of one TensorBoard tag of a gan.train run."""
    events = read_scalar(run_dir, tag)
    return np.array([e.step for e in events]), np.array([e.value for e in events])


def smooth(values: np.ndarray, weight: float = 0.9) -> np.ndarray:
    """TensorBoard-style exponential moving average, debiased."""
    out, running = [], 0.0
    for i, v in enumerate(values, 1):
        running = weight * running + (1 - weight) * v
        out.append(running / (1 - weight**i))
    return np.array(out)


@dataclasses.dataclass
class SweepConfig:
    dataset: str = "8gaussians"
    protocols: list[str] = dataclasses.field(default_factory=lambda: list(PROTOCOLS))
    optimizers: list[str] = dataclasses.field(default_factory=lambda: ["adam", "amsgrad", "adashift", "adamal"])
    seeds: list[int] = dataclasses.field(default_factory=lambda: [0, 1])
    iterations: int = 300
    width: int | None = None
    batch_size: int = 256
    image_limit: int | None = None
    log_every: int = 5
    eval_every: int = 100
    eval_samples: int = 2000
    runs: Path = Path("runs/gan")
    out: Path = Path("outputs/gan_sweep")

    def __post_init__(self):
        check_choices("optimizers", self.optimizers, OPTIMIZERS)
        check_choices("seeds", self.seeds, None)
        check_choices("protocols", self.protocols, PROTOCOLS)
        self.runs, self.out = Path(self.runs), Path(self.out)


def run(config: SweepConfig) -> list[dict]:
    """Every protocol x optimizer x seed (finished runs reused); writes the outputs; returns the rows.
    Runs seed by seed (every optimizer's first seed before any second one), so an interrupted sweep
    already compares all optimizers; the rows come back in protocol, optimizer, seed order."""
    done = {(p, o, s): run_one(p, o, s, config)
            for p in config.protocols for s in config.seeds for o in config.optimizers}
    rows = [done[p, o, s] for p in config.protocols for o in config.optimizers for s in config.seeds]
    write_outputs(rows, config.out, config.dataset, config)
    return rows


def run_one(protocol: str, optimizer: str, seed: int, args: SweepConfig) -> dict:
    overrides = dict(PROTOCOLS[protocol])
    config = GANConfig(dataset=args.dataset, iterations=args.iterations, seed=seed, out="",
                       critic_optimizer=optimizer, generator_optimizer=optimizer, width=args.width,
                       batch_size=args.batch_size, image_limit=args.image_limit,
                       log_every=args.log_every, eval_every=args.eval_every,
                       checkpoint_every=args.eval_every, eval_samples=args.eval_samples, **overrides)
    key = rundir.config_key({k: v for k, v in config.record().items() if k not in ("out", "device")})
    name = f"{args.dataset}-{protocol}-{optimizer}-s{seed}-{key}"
    saved = Path(args.out) / "rows" / f"{name}.json"
    if saved.exists():  # reused: the row keeps the figures of the run that made it
        return read_row(saved, ("protocol", "optimizer", "seed", "final_critic_loss"))
    out = Path(args.runs) / name
    config.out = str(out)
    last = out / "last.pt"
    done = last.exists() and torch.load(last, map_location="cpu", weights_only=True)["iteration"] >= args.iterations
    if not done:
        Trainer(config).fit()
    steps, critic = scalars(out, "train/critic_loss")
    quality_tag = "quality/sliced_wasserstein" if config.dataset in ("8gaussians", "25gaussians", "swissroll") \
        else "quality/frechet_distance"
    _, quality = scalars(out, quality_tag)
    _, kid = scalars(out, "quality/kernel_distance")
    _, wasserstein = scalars(out, "train/wasserstein")
    tail = max(1, len(critic) // 10)
    events = read_scalar(out, "train/critic_loss")
    row = {"protocol": protocol, "optimizer": optimizer, "seed": seed, "run": str(out),
           "final_critic_loss": float(np.mean(critic[-tail:])), "final_wasserstein": float(np.mean(wasserstein[-tail:])),
           "final_quality": float(quality[-1]), "best_quality": float(quality.min()),
           "quality_metric": quality_tag.split("/")[1],
           # from the whole run's logged steps and their clock, so a run resumed after a kill (whose last
           # invocation trained only the rest, or nothing) still reports what it ran at
           "iterations_per_second": iterations_per_second(events),
           "train_seconds": worked_seconds(out, "train/critic_loss"),  # stops left out
           "command": command_line("python -m gan.train", config, skip=("device",)),
           "steps": steps.tolist(), "critic_loss": critic.tolist()}
    if len(kid):
        row.update(final_kernel_distance=float(kid[-1]), best_kernel_distance=float(kid.min()))
    if (out / "samples.png").exists():
        row["samples"] = str(out / "samples.png")
    return write_row(saved, row)  # with the machine its train_seconds were spent on


def iterations_per_second(events) -> float | None:
    """Logged iterations per second of training, from the first to the last logged step (a resumed
    run leaves out the pause between its invocations: each segment counts its own span); None with
    fewer than two logged steps."""
    if len(events) < 2:
        return None
    steps, seconds = 0.0, 0.0
    for before, after in zip(events, events[1:]):
        gap = after.wall_time - before.wall_time
        if 0 <= gap < 600:  # a longer gap is a pause between invocations, not training
            steps += after.step - before.step
            seconds += gap
    return steps / seconds if seconds > 0 else None


def write_outputs(rows: list[dict], out: Path, dataset: str, config: SweepConfig | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    columns = ["protocol", "optimizer", "seed", "final_critic_loss", "final_wasserstein", "final_quality",
               "best_quality", "final_kernel_distance", "quality_metric", "iterations_per_second", "run"]
    write_csv(out / "results.csv", rows, columns)
    groups = {}
    for row in rows:
        groups.setdefault((row["protocol"], row["optimizer"]), []).append(row)

    def spread(values):
        return format_spread(stats.spread(values), significant=4)

    keys = ["final_critic_loss", "final_wasserstein", "final_quality", "best_quality"]
    header = ["protocol", "optimizer", "seeds", "critic loss", "Wasserstein estimate", "final quality", "best quality"]
    if all("final_kernel_distance" in r for r in rows):
        keys, header = keys + ["final_kernel_distance"], header + ["final KID"]
    doc = Document().text(
        f"WGAN-GP on {dataset}: mean ± std [{stats.INTERVAL}] over seeds (critic loss: mean of the last 10% of "
        f"logged iterations; quality: {rows[0]['quality_metric']}, lower is better"
        + ("; KID: the unbiased kernel distance in the same features" if "final_kernel_distance" in keys else "")
        + ")").table(header, [[protocol, optimizer, len(group), *(spread([r[k] for r in group]) for k in keys)]
                              for (protocol, optimizer), group in groups.items()])
    if config is not None:
        doc.text(f"Command: `{command_line('python -m gan.sweep', config)}`. Training time: "
                 f"{sum(r.get('train_seconds', 0) for r in rows) / 3600:.2f} wall hours "
                 f"({provenance.machines_of(rows)}; torch {torch.__version__}).")
    doc.write(out / "results.md")
    samples = []
    for (protocol, optimizer), group in groups.items():  # the first seed's last samples, kept beside the results
        source, target = Path(group[0].get("samples", "")), out / f"samples_{protocol}_{optimizer}.png"
        if source.is_file():
            shutil.copyfile(source, target)
        if target.exists():
            samples.append(target.name)
    atomic_write_text(out / "summary.json", json.dumps(
        {"config": dataclasses.asdict(config) if config else None,
         "command": command_line("python -m gan.sweep", config) if config else None, "samples": samples,
         "versions": {"torch": torch.__version__}, "rows": rows}, indent=1, default=str, allow_nan=False))
    protocols = list(dict.fromkeys(r["protocol"] for r in rows))
    fig, axes = plt.subplots(1, len(protocols), figsize=(6 * len(protocols), 4), squeeze=False)
    for ax, protocol in zip(axes[0], protocols):
        for optimizer in dict.fromkeys(r["optimizer"] for r in rows):
            group = [r for r in rows if r["protocol"] == protocol and r["optimizer"] == optimizer]
            if not group:
                continue
            length = min(len(r["critic_loss"]) for r in group)
            mean = np.mean([r["critic_loss"][:length] for r in group], axis=0)
            ax.plot(group[0]["steps"][:length], smooth(mean), label=optimizer)
        ax.set(title=f"{dataset}, {protocol}", xlabel="iteration", ylabel="critic loss (smoothed)")
        ax.legend()
    fig.tight_layout()
    atomic_savefig(fig, out / "critic_loss.png", dpi=110)
    plt.close(fig)
    tb.write_runs(out / "tensorboard", [tensorboard_run(row) for row in rows])


def tensorboard_run(row: dict) -> tb.Run:
    """One row as a TensorBoard run (``<optimizer>/<protocol>-seed<seed>``): its critic loss curve,
    final figures and settings (the protocol's GANConfig overrides)."""
    finals = ("final_critic_loss", "final_wasserstein", "final_quality", "best_quality", "final_kernel_distance")
    return tb.Run(f"{row['optimizer']}/{row['protocol']}-seed{row['seed']}",
                  curves={"train/critic_loss": list(zip(row["steps"], row["critic_loss"]))},
                  hparams={"optimizer": row["optimizer"], "protocol": row["protocol"], "seed": row["seed"],
                           **PROTOCOLS[row["protocol"]]},
                  metrics={f"final/{k.removeprefix('final_')}": row.get(k) for k in finals})


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(prog="python -m gan.sweep", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = SweepConfig()
    parser.add_argument("--dataset", choices=DATASETS, default=defaults.dataset)
    parser.add_argument("--protocols", nargs="+", choices=list(PROTOCOLS), default=defaults.protocols)
    parser.add_argument("--optimizers", nargs="+", default=defaults.optimizers)
    parser.add_argument("--seeds", nargs="+", type=int, default=defaults.seeds)
    for name in ("iterations", "width", "batch_size", "image_limit", "log_every", "eval_every", "eval_samples"):
        parser.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(defaults, name))
    parser.add_argument("--runs", type=Path, default=defaults.runs)
    parser.add_argument("--out", type=Path, default=defaults.out)
    try:
        config = SweepConfig(**vars(parser.parse_args(argv)))
    except ValueError as error:
        parser.error(str(error))
    rows = run(config)
    print((config.out / "results.md").read_text())
    return rows


if __name__ == "__main__":
    run_cli("python -m gan.sweep", main)
