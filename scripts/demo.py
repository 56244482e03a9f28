"""The main job: run the suite at a small scale and write one report.

    make demo                          # = python -m scripts.demo  (about 10 minutes on 2 CPU cores)
    python -m scripts.demo --scale paper   # the same at paper scale (meant for a GPU machine)

Outputs go to outputs/<scale>/ and TensorBoard logs to runs/<scale>/, so scales never mix.
Stages (each reuses its finished outputs on a re-run of the same scale; a failing stage is
reported and the others still run):
  1. theory  - counterexamples, non-convergence map, net update factors (python -m theory.run)
  2. nmt     - Bible English->Spanish with Adam, AMSGrad, AdaShift (and AdamAL) through the real
               fairseq-train --optimizer NAME, scored with sacrebleu (python -m nmt ...)
  3. gan     - WGAN-GP on 8 Gaussians: the critic-only protocol and full training, with the
               sliced Wasserstein distance as sample quality (python -m gan.sweep)
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
from suite_results.cli import run_cli

SCALES = {
    "tiny": {
        "theory": ["--scale", "tiny", "--only", "stochastic", "net_update", "critical_c_map"],
        "nmt_prepare": ["--max-train", "300", "--valid", "30", "--test", "30", "--vocab-size", "500"],
        "nmt_sweep": ["--optimizers", "adam", "adashift", "--seeds", "1", "--max-update", "12",
                      "--max-tokens", "1024"],
        "gan": ["--iterations", "6", "--seeds", "0", "--optimizers", "adam", "adashift", "--width", "16",
                "--batch-size", "32", "--eval-every", "3", "--eval-samples", "200", "--log-every", "1"],
    },
    "small": {
        "theory": ["--scale", "reduced"],
        "nmt_prepare": ["--max-train", "4000", "--valid", "200", "--test", "300", "--vocab-size", "3000"],
        "nmt_sweep": ["--optimizers", "adam", "amsgrad", "adashift", "--seeds", "1", "--max-update", "120",
                      "--max-tokens", "2048"],
        "gan": ["--iterations", "150", "--seeds", "0", "--optimizers", "adam", "amsgrad", "adashift", "adamal", "adopt",
                "--width", "128", "--batch-size", "128", "--eval-every", "50", "--eval-samples", "1000",
                "--log-every", "2"],
    },
    "paper": {
        "theory": ["--scale", "paper"],
        "nmt_prepare": ["--valid", "500", "--test", "1000", "--vocab-size", "8000"],
        "nmt_sweep": ["--optimizers", "adam", "amsgrad", "adashift", "adamal", "sgd", "--seeds", "1", "2", "3",
                      "--arch", "lstm-paper", "--hparams", "paper", "--max-update", "20000", "--max-tokens", "4096"],
        "gan": ["--iterations", "5000", "--seeds", "0", "1", "2", "--eval-every", "500"],
    },
}


def stage_theory(settings, root: Path, scale: str) -> dict:
    from theory.run import main as theory_main

    out, runs = root / "outputs" / scale / "theory", root / "runs" / scale / "theory"
    args = [*settings["theory"], "--out", str(out), "--runs", str(runs)]
    if not (out / "summary.md").exists():
        theory_main(args)
    return {"command": "python -m theory.run " + shlex.join(args), "summary": str(out / "summary.md"),
            "results": str(out / "results.json"), "images": sorted(str(p) for p in out.glob("*.png"))}


def stage_nmt(settings, root: Path, scale: str) -> dict:
    from nmt.__main__ import main as nmt_main

    data, runs = root / "outputs" / scale / "nmt" / "bible-en-es", root / "runs" / scale / "nmt"
    prepare = ["prepare", "--corpus", "bible-en-es", "--out", str(data), *settings["nmt_prepare"]]
    sweep = ["sweep", "--data", str(data), "--runs", str(runs), "--out", str(data / "sweep"), *settings["nmt_sweep"]]
    nmt_main(prepare)
    nmt_main(sweep)
    return {"command": "python -m nmt " + shlex.join(prepare) + "\npython -m nmt " + shlex.join(sweep),
            "summary": str(data / "sweep" / "results.md"), "results": str(data / "sweep" / "results.csv"),
            "prepared": json.loads((data / "prepared.json").read_text()),
            "images": [str(data / "sweep" / "valid_loss.png")]}


def stage_gan(settings, root: Path, scale: str) -> dict:
    from gan.sweep import main as gan_sweep

    out, runs = root / "outputs" / scale / "gan", root / "runs" / scale / "gan"
    args = ["--dataset", "8gaussians", *settings["gan"], "--runs", str(runs), "--out", str(out)]
    gan_sweep(args)
    return {"command": "python -m gan.sweep " + shlex.join(args), "summary": str(out / "results.md"),
            "results": str(out / "results.csv"), "images": [str(out / "critic_loss.png")]}


STAGES = {"theory": stage_theory, "nmt": stage_nmt, "gan": stage_gan}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
