"""Run every theory experiment, write plots, a verdict table and TensorBoard scalars.

    python -m theory.run                 # small scale, about two minutes on 2 CPU cores
    python -m theory.run --scale paper   # 10^7 stochastic steps, finer non-convergence map

Outputs under --out (default outputs/theory): PNG plots, summary.csv, summary.md, results.json;
TensorBoard event files under --runs (default runs/theory). From Python:
``theory.run.run(TheoryConfig(scale="tiny", out=Path("out")))``. The scales (tiny, small, paper)
are the demo's.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from torch.utils.tensorboard import SummaryWriter  # noqa: E402

from suite_results import tensorboard  # noqa: E402
from suite_results.cli import run_cli  # noqa: E402
from suite_results.files import atomic_savefig, check_creatable, write_csv  # noqa: E402
from suite_results.tables import Document  # noqa: E402

from .analysis import critical_c_map, sequential_closed_form_factors, simulated_net_update_factors  # noqa: E402
from .counterexamples import (BETA2_MAP_OPTIMIZERS, SEQUENTIAL_SETTINGS, OptimizerSetting, Stochastic,  # noqa: E402
                              beta2_settings, sequential_settings, stochastic_settings)
from .decorrelation import per_element_correlation, record_training, swap_statistics  # noqa: E402
from .paths import run_numpy, run_torch  # noqa: E402

SCALES = {
    "tiny": dict(sequential_steps=20_000, torch_steps=300, stochastic_steps=200_000, seeds=2,
                 beta1s=[0.0, 0.9], beta2s=[0.9, 0.999], map_steps=50_000, train_steps=60,
                 map_beta2s=[0.9, 0.999], lr_grid=[1e-3, 3e-3]),
    "small": dict(sequential_steps=200_000, torch_steps=2_000, stochastic_steps=1_000_000, seeds=4,
                    beta1s=[0.0, 0.5, 0.9], beta2s=[0.9, 0.99, 0.999], map_steps=200_000,
                    train_steps=300, map_beta2s=[0.5, 0.9, 0.99, 0.999, 0.9999], lr_grid=[3e-4, 1e-3, 3e-3]),
    "paper": dict(sequential_steps=2_000_000, torch_steps=5_000, stochastic_steps=10_000_000, seeds=4,
                  beta1s=[0.0, 0.3, 0.5, 0.7, 0.9, 0.95], beta2s=[0.9, 0.95, 0.99, 0.995, 0.999, 0.9995],
                  map_steps=1_000_000, train_steps=2_000,
                  map_beta2s=[0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 0.99999], lr_grid=[1e-4, 3e-4, 1e-3, 3e-3, 1e-2]),
}


@dataclass
class Claim:
    experiment: str
    claim: str
    measured: str
    reproduced: bool


def _downsample(values: np.ndarray, points: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Geometrically spaced samples (the plots use a log step axis)."""
    index = np.unique(np.geomspace(1, len(values), points).astype(int)) - 1
    return index + 1, values[index]


def sequential(cfg, out: Path, writer: SummaryWriter, claims: list, results: dict) -> None:
    fig, axes = plt.subplots(1, len(SEQUENTIAL_SETTINGS), figsize=(5 * len(SEQUENTIAL_SETTINGS), 3.6))
    for ax, kind in zip(axes, SEQUENTIAL_SETTINGS):
        problem, settings = sequential_settings(kind)
        gradients = problem.gradients(cfg["sequential_steps"])
        finals = {}
        for setting in settings:
            x = run_numpy(setting, gradients, bounds=problem.bounds)[0]
            x_torch = run_torch(setting, gradients[:, : cfg["torch_steps"]], bounds=problem.bounds)[0]
            agreement = float(np.abs(x_torch - x[: cfg["torch_steps"]]).max())
            finals[setting.label] = {"final_x": float(x[-1]), "torch_vs_numpy": agreement}
            steps, values = _downsample(x)
            ax.plot(steps, values, label=setting.label)
            for s, v in zip(steps, values):
                writer.add_scalar(f"sequential_{kind}/{setting.label}", v, int(s))
        ax.set(title=f"sequential '{kind}': C={problem.C:g}, d={problem.d}, other={problem.other:g}",
               xscale="log", xlabel="step t", ylabel="x_t", ylim=(-1.05, 1.05))
        ax.legend(fontsize=7)
        results[f"sequential_{kind}"] = finals
        adam, ams = finals["Adam"]["final_x"], finals["AMSGrad"]["final_x"]
        claims.append(Claim(f"sequential {kind}", "Adam ends near +1, AMSGrad near -1",
                            f"Adam {adam:+.3f}, AMSGrad {ams:+.3f}", adam > 0.9 and ams < -0.9))
        adopt = finals["ADOPT"]["final_x"]
        claims.append(Claim(f"sequential {kind}", "ADOPT ends near -1 (converges for any beta2)",
                            f"ADOPT {adopt:+.3f}", adopt < -0.9))
        shift = finals["AdaShift"]["final_x"]
        claims.append(Claim(f"sequential {kind}", "AdaShift (keep_num 10) ends near -1",
                            f"AdaShift {shift:+.3f}; AdamNC {finals['AdamNC']['final_x']:+.3f}; "
                            f"AdamAL {finals['AdamAL']['final_x']:+.3f}", shift < -0.9))
        if kind == "reddi":  # a shift that is a multiple of the period sees the same phase as Adam
            shifts = {}
            for n in (1, 2, 3, 6, 10):
                base = next(x for x in settings if x.label == "AdaShift")
                shifted = OptimizerSetting(f"AdaShift n={n}", "adashift", {**base.hyperparameters, "keep_num": n},
                                           base.lr, base.schedule)
                shifts[n] = float(run_numpy(shifted, gradients, bounds=problem.bounds)[0, -1])
            finals["AdaShift keep_num sweep"] = shifts
            aligned = [n for n in shifts if n % problem.d == 0]
            claims.append(Claim(f"sequential {kind}", f"AdaShift fails (like Adam) when keep_num is a multiple "
                                f"of d = {problem.d}, converges otherwise",
                                ", ".join(f"n={n}: {x:+.3f}" for n, x in shifts.items()),
                                all((shifts[n] > 0.9) == (n in aligned) for n in shifts)))
        worst = max(f["torch_vs_numpy"] for f in finals.values() if "torch_vs_numpy" in f)
        claims.append(Claim(f"sequential {kind}", "torch path == NumPy path",
                            f"max |dx| {worst:.1e} over {cfg['torch_steps']} steps", worst < 1e-9))
    fig.tight_layout()
    atomic_savefig(fig, out / "sequential.png", dpi=110)
    plt.close(fig)


def stochastic(cfg, out: Path, writer: SummaryWriter, claims: list, results: dict) -> None:
    problem, settings = stochastic_settings()
    gradients = problem.gradients(cfg["stochastic_steps"], runs=cfg["seeds"], seed=1)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    finals = {}
    for setting in settings:
        theta = run_numpy(setting, gradients)
        finals[setting.label] = theta[:, -1].tolist()
        steps, values = _downsample(theta.mean(0))
        ax.plot(steps, values, label=setting.label)
        for s, v in zip(steps, values):
            writer.add_scalar(f"stochastic/{setting.label}", v, int(s))
        del theta
    ax.axhline(0, color="grey", lw=0.5)
    ax.set(title=f"stochastic: C={problem.C:g}, delta={problem.delta}, mean of {cfg['seeds']} seeds",
           xlabel="step t", ylabel="theta_t (right direction: down)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_savefig(fig, out / "stochastic.png", dpi=110)
    plt.close(fig)
    results["stochastic"] = finals
    mean = {k: float(np.mean(v)) for k, v in finals.items()}
    steps = f"{cfg['stochastic_steps']:.0e} steps"
    for label, sign in [("Adam beta1=0", 1), ("Adam beta1=0.9", 1), ("AMSGrad beta1=0", -1),
                        ("AdaShift n=1 beta1=0", -1), ("ADOPT beta1=0", -1), ("ADOPT no clip beta1=0", -1)]:
        direction = "theta > 0 (wrong way)" if sign > 0 else "theta < 0 (right way)"
        claims.append(Claim("stochastic", f"{label}: {direction}", f"mean theta {mean[label]:+.3f} "
                            f"after {steps}", np.sign(mean[label]) == sign))


def phase_map(cfg, out: Path, writer: SummaryWriter, claims: list, results: dict) -> None:
    Cs = np.geomspace(1.1, 5000, 60)
    grid = critical_c_map(cfg["beta1s"], cfg["beta2s"], Cs, steps=cfg["map_steps"])
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    shown = np.log10(np.where(np.isfinite(grid), grid, Cs[-1]))
    image = ax.imshow(shown, origin="lower", cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(cfg["beta2s"])), [str(b) for b in cfg["beta2s"]])
    ax.set_yticks(range(len(cfg["beta1s"])), [str(b) for b in cfg["beta1s"]])
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):  # dark text on the light (yellow-green) cells, white on the dark ones
            light = image.norm(shown[i, j]) > 0.55
            ax.text(j, i, f"{grid[i, j]:.3g}", ha="center", va="center", color="black" if light else "white",
                    fontsize=8)
    ax.set(xlabel="beta2", ylabel="beta1", title="critical C: Adam's expected step turns wrong")
    fig.colorbar(image, label="log10 critical C")
    fig.tight_layout()
    atomic_savefig(fig, out / "critical_c_map.png", dpi=110)
    plt.close(fig)
    results["critical_c"] = {"beta1s": cfg["beta1s"], "beta2s": cfg["beta2s"], "grid": grid.tolist()}
    for i, b1 in enumerate(cfg["beta1s"]):
        for j, b2 in enumerate(cfg["beta2s"]):
            writer.add_scalar(f"critical_c/beta1={b1}", grid[i, j], j)
    grows_b2 = bool(np.all(np.diff(grid, axis=1) > 0))
    grows_b1 = bool(np.all(np.diff(grid, axis=0) >= 0))
    claims.append(Claim("non-convergence map", "critical C grows with beta2",
                        f"rows {np.round(grid, 1).tolist()}", grows_b2))
    claims.append(Claim("non-convergence map", "critical C grows with beta1",
                        f"columns {np.round(grid.T, 1).tolist()}", grows_b1))


def beta2_map(cfg, out: Path, writer: SummaryWriter, claims: list, results: dict) -> None:
    """The beta2 axis of the non-convergence map: on the stochastic problem (C = 101, E[g] > 0), which
    optimizer goes the wrong way (theta > 0) at which beta2. ADOPT's claim: right way for any beta2."""
    problem = Stochastic()
    runs = 4 * cfg["seeds"]  # the sign of a mean over a random walk: more runs than elsewhere
    gradients = problem.gradients(cfg["stochastic_steps"], runs=runs, seed=3)
    labels = list(BETA2_MAP_OPTIMIZERS)
    final = np.zeros((len(labels), len(cfg["map_beta2s"])))
    spread = np.zeros_like(final)
    for j, beta2 in enumerate(cfg["map_beta2s"]):
        for i, setting in enumerate(beta2_settings(beta2)):
            theta = run_numpy(setting, gradients)[:, -1]
            final[i, j], spread[i, j] = theta.mean(), theta.std()
            writer.add_scalar(f"beta2_map/{setting.label}", final[i, j], j)
    fig, ax = plt.subplots(figsize=(1.3 * len(cfg["map_beta2s"]) + 3, 3.4))
    limit = max(float(np.abs(final).max()), 1e-9)
    norm = matplotlib.colors.SymLogNorm(linthresh=0.05, vmin=-limit, vmax=limit)  # small thetas keep a colour
    image = ax.imshow(final, cmap="coolwarm", norm=norm, aspect="auto")
    ax.set_xticks(range(len(cfg["map_beta2s"])), [str(b) for b in cfg["map_beta2s"]])
    ax.set_yticks(range(len(labels)), labels)
    for i in range(final.shape[0]):
        for j in range(final.shape[1]):
            ax.text(j, i, f"{final[i, j]:+.3g}", ha="center", va="center", fontsize=8)
    ax.set(xlabel="beta2 (beta1 = 0, lr 1e-3)", title=f"stochastic C={problem.C:g}: mean final theta over "
           f"{runs} seeds (red: wrong way)")
    # ticks at 0 and +-10^k only: the symlog scale's default ticks crowd (and overlap) around 0
    ticks = [0.0] + [sign * 10.0**k for k in range(int(np.floor(np.log10(limit))) + 1) for sign in (-1, 1)]
    bar = fig.colorbar(image, label="final theta (symmetric log scale)", ticks=sorted(ticks))
    bar.ax.set_yticklabels([f"{t:+g}" if t else "0" for t in sorted(ticks)])
    bar.ax.minorticks_off()
    fig.tight_layout()
    atomic_savefig(fig, out / "beta2_map.png", dpi=110)
    plt.close(fig)
    results["beta2_map"] = {"beta2s": cfg["map_beta2s"], "optimizers": labels, "mean_final_theta": final.tolist(),
                            "std_final_theta": spread.tolist(), "steps": cfg["stochastic_steps"], "runs": runs}
    rows = {label: final[i] for i, label in enumerate(labels)}
    errors = {label: spread[i] / np.sqrt(runs) for i, label in enumerate(labels)}
    shown = lambda label: ", ".join(f"{b}: {x:+.3g} ± {e:.2g}" for b, x, e in
                                    zip(cfg["map_beta2s"], rows[label], errors[label]))
    claims.append(Claim("beta2 map", "ADOPT (clipped to ±s^0.25, the official default) goes the right way "
                        "(theta < 0) for every beta2", shown("ADOPT") + " (mean ± standard error)",
                        bool(np.all(rows["ADOPT"] < 0))))
    claims.append(Claim("beta2 map", "ADOPT without clipping (the algorithm of the paper's theorem) goes the "
                        "right way for every beta2", shown("ADOPT no clip"), bool(np.all(rows["ADOPT no clip"] < 0))))
    claims.append(Claim("beta2 map", "Adam goes the wrong way (theta > 0) for some beta2", shown("Adam"),
                        bool(np.any(rows["Adam"] > 0))))
    claims.append(Claim("beta2 map", "AdaShift n=1 goes the right way for every beta2", shown("AdaShift n=1"),
                        bool(np.all(rows["AdaShift n=1"] < 0))))


def adopt_vs_adam(cfg, out: Path, writer: SummaryWriter, claims: list, results: dict) -> None:
    """The MNIST MLP of the decorrelation experiment: ADOPT against Adam, the same lr grid each, the lr
    with the lowest final training loss (mean of the last 10% of steps) chosen per optimizer."""
    table = {}
    for label, name in (("Adam", "adam"), ("ADOPT", "adopt")):
        losses = {}
        for lr in cfg["lr_grid"]:
            record = record_training(name, steps=cfg["train_steps"], lr=lr, diagnostics=False)
            tail = record["losses"][-max(1, len(record["losses"]) // 10):]
            losses[lr] = float(np.mean(tail))
            writer.add_scalar(f"adopt_vs_adam/{label}/final_loss", losses[lr], cfg["lr_grid"].index(lr))
        best = min(losses, key=losses.get)
        table[label] = {"losses_by_lr": losses, "best_lr": best, "best_loss": losses[best]}
    results["adopt_vs_adam"] = {"lr_grid": cfg["lr_grid"], "steps": cfg["train_steps"], **table}
    adam, adopt = table["Adam"]["best_loss"], table["ADOPT"]["best_loss"]
    claims.append(Claim("MNIST MLP", "ADOPT trains at least as well as Adam (best of the same lr grid, "
                        "final loss within 5%)", f"Adam {adam:.4f} (lr {table['Adam']['best_lr']:g}), ADOPT "
                        f"{adopt:.4f} (lr {table['ADOPT']['best_lr']:g}), {cfg['train_steps']} steps",
                        adopt <= adam * 1.05))


def net_update(cfg, out: Path, writer: SummaryWriter, claims: list, results: dict) -> None:
    rows = {}
    for kind in ("reddi", "reddi-fig1"):
        problem, settings = sequential_settings(kind)
        beta1, beta2 = settings[0].hyperparameters["betas"]
        simulated = simulated_net_update_factors(problem.gradients(200 * problem.d * 10)[0], "adam",
                                                 beta1, beta2)
        closed = sequential_closed_form_factors(problem.C, problem.d, beta1, beta2)
        rows[f"Adam sequential {kind}"] = {"simulated": simulated, "closed_form": closed}
        claims.append(Claim("net update factor", f"Adam, sequential {kind}: k(C) < k(-1)",
                            f"simulated {simulated['C']:.4g} vs {simulated['-1']:.4g}; closed form "
                            f"{closed['C']:.4g} vs {closed['-1']:.4g}",
                            simulated["C"] < simulated["-1"] and closed["C"] < closed["-1"]))
    g = Stochastic().gradients(cfg["stochastic_steps"], seed=2)[0]
    adam = simulated_net_update_factors(g, "adam", 0.0, 0.999)
    shift = simulated_net_update_factors(g, "adashift", 0.0, 0.999, keep_num=1)
    rows["Adam stochastic"], rows["AdaShift stochastic"] = {"simulated": adam}, {"simulated": shift}
    claims.append(Claim("net update factor", "Adam, stochastic: k(C) < k(-1)",
                        f"{adam['C']:.5g} vs {adam['-1']:.5g}", adam["C"] < adam["-1"]))
    gap = abs(shift["C"] - shift["-1"]) / shift["-1"]
    claims.append(Claim("net update factor", "AdaShift, stochastic: k(C) == k(-1) in expectation",
                        f"{shift['C']:.5g} vs {shift['-1']:.5g} (relative gap {gap:.1e})", gap < 0.01))
    for name, row in rows.items():
        for source, values in row.items():
            writer.add_scalar(f"net_update/{name}/{source}/k(C)", values["C"], 0)
            writer.add_scalar(f"net_update/{name}/{source}/k(-1)", values["-1"], 0)
    results["net_update_factors"] = rows


def decorrelation(cfg, out: Path, writer: SummaryWriter, claims: list, results: dict) -> None:
    runs = {"Adam": ("adam", {}), "AdaShift (reduce none)": ("adashift", {"keep_num": 10, "reduce": "none"}),
            "AdaShift (reduce max)": ("adashift", {"keep_num": 10, "reduce": "max"}), "AMSGrad": ("amsgrad", {})}
    medians, held = {}, None
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for label, (name, kw) in runs.items():
        record = record_training(name, steps=cfg["train_steps"], **kw)
        corr = per_element_correlation(record["abs_grad"], record["effective_step"], skip=20)
        medians[label] = float(np.nanmedian(corr))
        axes[0].hist(corr[np.isfinite(corr)], bins=40, alpha=0.5, label=f"{label} (median {medians[label]:+.3f})")
        for step, loss in enumerate(record["losses"]):
            writer.add_scalar(f"decorrelation/train_loss/{label}", loss, step)
        writer.add_scalar(f"decorrelation/median_corr/{label}", medians[label], 0)
        if record["held"] is not None:
            held = swap_statistics(record["held"])
    axes[0].set_title("corr(|g_t|, lr/sqrt(vhat_t)) per element,\nMNIST MLP output layer", fontsize=9)
    axes[0].set(xlabel="Pearson correlation over time")
    axes[0].legend(fontsize=7)
    image = axes[1].imshow(held["held_fraction"], aspect="auto", cmap="magma", vmin=0, vmax=1)
    axes[1].set_title(f"AMSGrad: fraction of steps with vhat_t = vhat_(t-1)\n(median interval "
                      f"{np.median(held['intervals']):.0f})", fontsize=9)  # two lines: the titles never meet
    axes[1].set(xlabel="hidden unit", ylabel="class")
    fig.colorbar(image, ax=axes[1])
    fig.tight_layout()
    atomic_savefig(fig, out / "decorrelation.png", dpi=110)
    plt.close(fig)
    results["decorrelation"] = {"median_corr": medians,
                                "amsgrad_held_fraction_mean": float(held["held_fraction"].mean()),
                                "amsgrad_interval_median": float(np.median(held["intervals"]))}
    claims.append(Claim("decorrelation", "Adam: corr(|g|, step size) < 0", f"median {medians['Adam']:+.3f}",
                        medians["Adam"] < 0))
    shifted = medians["AdaShift (reduce none)"]
    claims.append(Claim("decorrelation", "AdaShift (reduce none): corr about 0 (|median| < 0.05)",
                        f"median {shifted:+.3f} (reduce max: {medians['AdaShift (reduce max)']:+.3f})",
                        abs(shifted) < 0.05))


EXPERIMENTS = {"sequential": sequential, "stochastic": stochastic, "critical_c_map": phase_map,
               "beta2_map": beta2_map, "net_update": net_update, "decorrelation": decorrelation,
               "adopt_vs_adam": adopt_vs_adam}


def write_summary(out: Path, claims: list[Claim], timings: dict) -> None:
    write_csv(out / "summary.csv", [{"experiment": c.experiment, "claim": c.claim, "measured": c.measured,
                                     "verdict": "reproduced" if c.reproduced else "not reproduced"} for c in claims],
              ["experiment", "claim", "measured", "verdict"])
    Document().table(["experiment", "claim", "measured", "verdict"],
                     [[c.experiment, c.claim, c.measured, "reproduced" if c.reproduced else "**not reproduced**"]
                      for c in claims]).text(
        "Wall time per experiment (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items())).write(
        out / "summary.md")


@dataclass
class TheoryConfig:
    scale: str = "small"
    out: Path = Path("outputs/theory")
    runs: Path = Path("runs/theory")
    only: list[str] | None = None  # run only these experiments (None: all)

    def __post_init__(self):
        if self.scale not in SCALES:
            raise ValueError(f"unknown theory scale {self.scale!r}; choose one of: {', '.join(SCALES)}")
        unknown = sorted(set(self.only or ()) - set(EXPERIMENTS))
        if unknown:
            raise ValueError(f"unknown theory experiment(s) {unknown}; choose from: {', '.join(EXPERIMENTS)}")
        self.out, self.runs = Path(self.out), Path(self.runs)


def run(config: TheoryConfig) -> dict:
    """Run the experiments of ``config``; returns results.json's content (claims under "claims")."""
    cfg = SCALES[config.scale]
    for folder, flag in ((config.runs, "--runs"), (config.out, "--out")):
        check_creatable(folder, flag)  # both before either is made
    config.out.mkdir(parents=True, exist_ok=True)
    claims, results, timings = [], {"scale": config.scale, "config": cfg}, {}
    with SummaryWriter(str(config.runs)) as writer:
        writer.add_text("config", json.dumps({"scale": config.scale, **cfg}))
        # an HParams session, as every benchmark run has: the scale and the experiments of this run
        writer.file_writer.add_summary(tensorboard.session_start(
            {"scale": config.scale, "experiments": ",".join(config.only or EXPERIMENTS)}))
        for name, experiment in EXPERIMENTS.items():
            if config.only and name not in config.only:
                continue
            start = time.perf_counter()
            experiment(cfg, config.out, writer, claims, results)
            timings[name] = time.perf_counter() - start
            print(f"[theory] {name}: {timings[name]:.1f}s", flush=True)
        writer.file_writer.add_summary(tensorboard.session_end())
    results["timings_s"] = timings
    results["claims"] = [dataclasses.asdict(c) for c in claims]
    (config.out / "results.json").write_text(json.dumps(results, indent=1, default=float))
    write_summary(config.out, claims, timings)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m theory.run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = TheoryConfig()
    parser.add_argument("--scale", choices=list(SCALES), default=defaults.scale)
    parser.add_argument("--out", type=Path, default=defaults.out)
    parser.add_argument("--runs", type=Path, default=defaults.runs)
    parser.add_argument("--only", nargs="*", choices=list(EXPERIMENTS), help="run only these")
    config = TheoryConfig(**vars(parser.parse_args(argv)))
    run(config)
    print((config.out / "summary.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli("python -m theory.run", main))
