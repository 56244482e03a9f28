"""A user's optimizer on the non-convergence counterexamples (``theory/``), through its own class.

* Reddi's sequential problems ('reddi': d = 3, C = 3; 'reddi-fig1': d = 101, C = 1010, -10x
  otherwise), with Adam's hyperparameters there (betas where the class takes them) and lr 1/sqrt(t):
  the right way is x_T = -1.
* The AdaShift authors' stochastic problem (C = 101, delta = 0.02, lr 1e-3, beta2 0.999 where taken):
  E[g] > 0, so the right way is theta -> -inf; judged on the runs' final theta with a t interval.
* Its place on the non-convergence map: the stochastic problem over C (the rare gradient's size):
  the smallest C at which its mean final theta goes the wrong way (inf when it never does, on the
  C grid), beside Adam's on the same gradients.

Every run steps the class itself (``theory.paths.run_torch``: each run one element of a float64
tensor), so an optimizer that mixes elements (a per-tensor statistic) sees the runs together, as
AdaShift's reduce="max" would: say so when reading its numbers.
"""

from __future__ import annotations

import numpy as np

from suite_results import claims
from suite_results.stats import spread
from theory.counterexamples import OptimizerSetting, Stochastic, sequential_settings
from theory.paths import run_torch

# The stochastic runs are the elements of one tensor, stepped together, so their number costs no time
# (20k steps of NAdam took the same CPU time for 8, 64 and 256 runs, 2026-12-07): 64 runs, fixed in
# advance (no look at the data decides it, so the t interval keeps its coverage), settle a mean final
# theta about a quarter of the runs' sd from 0, where 8 runs left NAdam's +0.36 (sd 0.66) inconclusive.
SCALES = {"tiny": {"sequential_steps": 3_000, "stochastic_steps": 20_000, "seeds": 4, "map_steps": 10_000},
          "small": {"sequential_steps": 30_000, "stochastic_steps": 200_000, "seeds": 64, "map_steps": 100_000}}
MAP_CS = (3.0, 11.0, 31.0, 101.0, 301.0, 1001.0)


def _setting(label, optimizer: str, settings: dict, hyperparameters: dict, lr: float, schedule: str):
    return OptimizerSetting(label, optimizer, {**hyperparameters, **settings}, lr, schedule)


def run(optimizer: str, settings: dict, scale: str = "small") -> dict:
    """The counterexamples for ``optimizer`` (module:Class or a name of this library) with its fixed
    ``settings``; returns {'verdicts': [...], 'numbers': {...}}."""
    cfg = SCALES[scale]
    verdicts, numbers = [], {}
    for kind in ("reddi", "reddi-fig1"):
        problem, builtins = sequential_settings(kind)
        adam = next(s for s in builtins if s.name == "adam")
        mine = _setting("candidate", optimizer, settings, adam.hyperparameters, adam.lr, adam.schedule)
        gradients = problem.gradients(cfg["sequential_steps"])
        final = {label: float(run_torch(s, gradients, bounds=problem.bounds, record_every=cfg["sequential_steps"])[0, -1])
                 for label, s in (("candidate", mine), ("adam", adam))}
        numbers[f"sequential {kind}"] = final
        right = final["candidate"] < 0
        verdicts.append({"claim": f"goes the right way on the sequential counterexample '{kind}' (x_T < 0; "
                                  f"Adam ends at {final['adam']:+.3f})",
                         "verdict": "reproduced" if right else "not reproduced",
                         "detail": f"x_T = {final['candidate']:+.3f}", "measured":
                             f"x after {cfg['sequential_steps']} steps: {final['candidate']:+.4f}",
                         "rule": "deterministic: the sign of the final x", "n": [1]})
    problem = Stochastic()
    gradients = problem.gradients(cfg["stochastic_steps"], runs=cfg["seeds"], seed=1)
    base = {"betas": (0.0, 0.999), "eps": 1e-8}
    mine = _setting("candidate", optimizer, settings, base, 1e-3, "constant")
    theta = run_torch(mine, gradients, record_every=cfg["stochastic_steps"])[:, -1]
    s = spread(theta)
    numbers["stochastic"] = {"final_theta": theta.tolist(), **s}
    verdict = ("reproduced" if s["ci_high"] < 0 else "not reproduced" if s["ci_low"] > 0 else "inconclusive")
    verdicts.append({"claim": "goes the right way on the stochastic counterexample (C = 101, delta = 0.02: theta < 0)",
                     "verdict": verdict, "detail": f"mean theta {s['mean']:+.3g}",
                     "measured": f"final theta over {len(theta)} runs: {s['mean']:+.4g} [{s['ci_low']:+.4g}, "
                                 f"{s['ci_high']:+.4g}] (95% t)",
                     "rule": "95% t interval of the runs' final theta below 0: reproduced; above: not reproduced",
                     "n": [len(theta)], "comparisons": [{"alpha": claims.ALPHA}]})
    numbers["critical_c"] = critical_c(optimizer, settings, cfg)
    return {"verdicts": verdicts, "numbers": numbers, "scale": scale}


def critical_c(optimizer: str, settings: dict, cfg: dict) -> dict:
    """The smallest C of MAP_CS at which the mean final theta goes the wrong way (> 0), for the
    candidate and for Adam (beta1 0, beta2 0.999, lr 1e-3) on the same gradients; None: never."""
    found = {}
    base = {"betas": (0.0, 0.999), "eps": 1e-8}
    for label, setting in (("candidate", _setting("candidate", optimizer, settings, base, 1e-3, "constant")),
                           ("adam", OptimizerSetting("adam", "adam", base, 1e-3))):
        means = {}
        for C in MAP_CS:
            gradients = Stochastic(C=C).gradients(cfg["map_steps"], runs=cfg["seeds"], seed=2)
            means[C] = float(np.mean(run_torch(setting, gradients, record_every=cfg["map_steps"])[:, -1]))
        wrong = [C for C in MAP_CS if means[C] > 0]
        found[label] = {"critical_c": min(wrong) if wrong else None, "mean_theta": means}  # None: never on the grid
    return found
