"""The main job: run the suite at a small scale and write one report.

    make demo                          # = python -m scripts.demo  (about 10 minutes on 2 CPU cores)
    python -m scripts.demo --scale paper   # the same at paper scale (meant for a GPU machine)

Outputs go to outputs/<scale>/ and TensorBoard logs to runs/<scale>/, so scales never mix.
Stages (each reuses its finished outputs on a re-run of the same scale; a failing stage is
reported and the others still run):
  1. theory  - counterexamples, non-convergence map, net update factors (theory.run.run)
  2. nmt     - Bible English->Spanish with Adam, AMSGrad, AdaShift (and AdamAL) through the real
               fairseq-train --optimizer NAME, scored with sacrebleu (nmt.experiment.run_sweep)
  3. gan     - WGAN-GP on 8 Gaussians: the critic-only protocol and full training, with the
               sliced Wasserstein distance as sample quality (gan.sweep.run)
  4. report  - report/index.html; TensorBoard logs of everything under runs/
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
import traceback
from pathlib import Path

from scripts import report as report_module
from suite_results.cli import command_line, run_cli

# One vocabulary of scales for every stage: theory.run's scales have the same names.
SCALES = {
    "tiny": {
        "theory": dict(only=["stochastic", "net_update", "critical_c_map"]),
        "nmt_prepare": dict(max_train=300, valid=30, test=30, vocab_size=500),
        "nmt_sweep": dict(optimizers=["adam", "adashift"], seeds=[1], max_update=12, max_tokens=1024),
        "gan": dict(iterations=6, seeds=[0], optimizers=["adam", "adashift"], width=16, batch_size=32,
                    eval_every=3, eval_samples=200, log_every=1),
    },
    "small": {
        "theory": dict(),
        "nmt_prepare": dict(max_train=4000, valid=200, test=300, vocab_size=3000),
        "nmt_sweep": dict(optimizers=["adam", "amsgrad", "adashift"], seeds=[1], max_update=120, max_tokens=2048),
        "gan": dict(iterations=150, seeds=[0], optimizers=["adam", "amsgrad", "adashift", "adamal", "adopt"],
                    width=128, batch_size=128, eval_every=50, eval_samples=1000, log_every=2),
    },
    "paper": {
        "theory": dict(),
        "nmt_prepare": dict(valid=500, test=1000, vocab_size=8000),
        "nmt_sweep": dict(optimizers=["adam", "amsgrad", "adashift", "adamal", "sgd"], seeds=[1, 2, 3],
                          arch="lstm-paper", hparams="paper", max_update=20000, max_tokens=4096),
        "gan": dict(iterations=5000, seeds=[0, 1, 2], eval_every=500),
    },
}


def stage_theory(settings, root: Path, scale: str) -> dict:
    from theory.run import TheoryConfig, run

    config = TheoryConfig(scale=scale, out=root / "outputs" / scale / "theory", runs=root / "runs" / scale / "theory",
                          **settings["theory"])
    if not (config.out / "summary.md").exists():
        run(config)
    return {"command": command_line("python -m theory.run", config), "summary": str(config.out / "summary.md"),
            "results": str(config.out / "results.json"), "images": sorted(str(p) for p in config.out.glob("*.png"))}


def stage_nmt(settings, root: Path, scale: str) -> dict:
    from nmt.experiment import SweepConfig, run_sweep
    from nmt.prepare import prepare

    data = root / "outputs" / scale / "nmt" / "bible-en-es"
    prepare("bible-en-es", data, **settings["nmt_prepare"])
    config = SweepConfig(data=data, runs=root / "runs" / scale / "nmt", **settings["nmt_sweep"])
    run_sweep(config)
    prepare_flags = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in settings["nmt_prepare"].items())
    return {"command": f"python -m nmt prepare --corpus bible-en-es --out {data} {prepare_flags}\n"
                       + command_line("python -m nmt", config, leading=("sweep",)),
            "summary": str(config.out / "results.md"), "results": str(config.out / "results.csv"),
            "prepared": json.loads((data / "prepared.json").read_text()),
            "images": [str(config.out / "valid_loss.png")]}


def stage_gan(settings, root: Path, scale: str) -> dict:
    from gan.sweep import SweepConfig, run

    config = SweepConfig(dataset="8gaussians", runs=root / "runs" / scale / "gan", out=root / "outputs" / scale / "gan",
                         **settings["gan"])
    run(config)
    return {"command": command_line("python -m gan.sweep", config), "summary": str(config.out / "results.md"),
            "results": str(config.out / "results.csv"), "images": [str(config.out / "critic_loss.png")]}


STAGES = {"theory": stage_theory, "nmt": stage_nmt, "gan": stage_gan}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=list(SCALES), default="small")
    parser.add_argument("--root", type=Path, default=Path("."), help="outputs/, runs/ and report/ go here")
    parser.add_argument("--stages", nargs="+", choices=list(STAGES), default=list(STAGES))
    args = parser.parse_args(argv)
    settings, root = SCALES[args.scale], args.root
    for folder in ("outputs", "runs", "report"):  # an unwritable --root: one line now, not a traceback per stage
        (root / folder).mkdir(parents=True, exist_ok=True)
        probe = root / folder / ".writable"
        probe.write_text("")
        probe.unlink()
    results, started = {}, time.perf_counter()
    for number, name in enumerate(args.stages, 1):
        print(f"\n=== [{number}/{len(args.stages)}] {name} ({args.scale} scale) ===", flush=True)
        stage_started = time.perf_counter()
        try:
            results[name] = {"status": "ok", **STAGES[name](settings, root, args.scale)}
        except (Exception, SystemExit) as error:  # a failing stage is reported; the others still run
            traceback.print_exc()
            results[name] = {"status": "failed", "error": f"{type(error).__name__}: {error}"}
        results[name]["wall_s"] = time.perf_counter() - stage_started
        print(f"=== {name}: {results[name]['status']} in {results[name]['wall_s']:.0f}s ===", flush=True)
    total = time.perf_counter() - started
    index = report_module.write_report(root / "report", results, args.scale, total,
                                       command="python -m scripts.demo " + shlex.join(argv or sys.argv[1:]))
    print(f"\nreport: {index.resolve()}")
    print(f"TensorBoard: tensorboard --logdir {(root / 'runs').resolve()}")
    print(f"total wall time: {total:.0f}s")
    return 0 if all(r["status"] == "ok" for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(run_cli("python -m scripts.demo", main))
