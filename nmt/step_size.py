r"""How large the last update was, per element and per unit lr, read from a fairseq checkpoint:
``python -m nmt step-size CHECKPOINT [--out FILE]``.

A checkpoint written after update t holds everything that update divided and multiplied, so its
size is recomputed exactly, without data or a forward pass (float64):

* Adam / AMSGrad: ``|m_t / (1 - beta1^t)| / (sqrt(v_t / (1 - beta2^t)) + eps)`` (AMSGrad's v: its
  ``max_exp_avg_sq``);
* AdaShift with a v per element (reduce "none"): ``z_t |m_t| / (sqrt(v_t / max(1e-8, 1 - beta2^k)) + eps)``,
  m_t the newest window slot (beta1 = 0) or the running sum over its weights; v_t holds gradients up
  to g_{t-n}, never g_t itself (``optim_plugins.adashift``).

The reference line is ``1 / sqrt(1 - beta2)``: the largest step Adam with beta1 = 0 and the same
beta2 can ever take, since its v_t contains (1 - beta2) g_t^2. AdaShift's v does not contain g_t,
so an element whose gradient jumps after a quiet stretch (a rare token's embedding row, a gate that
was saturated) can step far beyond it: the share of elements above the line and the largest step
measure how often and how far. Reduce "max"/"mean" checkpoints of beta1 = 0 keep no gradient
(the lean layout) and are refused, as are checkpoints of other optimizers.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from suite_results.tables import markdown_table

from .step_scale import corrected_v, load, parameters

QUANTILES = (0.5, 0.99, 0.999)


def last_step(state: dict, group: dict, name: str, path: Path) -> torch.Tensor:
    """|update t| / lr per element (float64, flattened)."""
    beta1, beta2 = group["betas"]
    eps, step = group["eps"], float(state["step"])
    if "active_since" in state:  # AdaShift
        if state["exp_avg_sq"].dim() == 0 and "window" not in state:
            raise ValueError(f"{path}: {name} is a reduce max/mean AdaShift state with beta1 = 0, which keeps "
                             "no gradient: the last update cannot be recomputed from it")
        n = int(group["keep_num"])
        if "window_sum" in state:
            m = state["window_sum"].double() / sum(beta1 ** i for i in range(n))
        else:
            m = state["window"][(int(step) - 1) % n].double()
        gate = (state["active_since"] > 0).double()
        size = gate * m.abs() / (corrected_v(state, group).sqrt() + eps)
    elif "exp_avg" in state:  # Adam, AMSGrad
        m = state["exp_avg"].double() / (1 - beta1 ** step)
        size = m.abs() / (corrected_v(state, group).sqrt() + eps)
    else:
        raise ValueError(f"{path}: {name}'s optimizer state ({', '.join(sorted(state))}) is neither Adam/AMSGrad "
                         "(exp_avg) nor AdaShift (active_since)")
    return size.flatten()  # m's shape: v and the gate broadcast against it


def step_sizes(path: Path) -> tuple[list[dict], dict]:
    """One row per parameter tensor, and the same statistics over all elements."""
    rows, sizes, bound = [], [], None
    for name, state, group in parameters(load(path), path):
        size = last_step(state, group, name, path)
        bound = 1 / math.sqrt(1 - group["betas"][1])
        rows.append({"name": name, **statistics(size, bound)})
        sizes.append(size)
    return rows, {"name": "all elements", **statistics(torch.cat(sizes), bound), "bound": bound}


def statistics(size: torch.Tensor, bound: float) -> dict:
    ordered = size.sort().values
    at = {f"q{q}": ordered[min(len(ordered) - 1, int(q * len(ordered)))].item() for q in QUANTILES}
    return {"elements": len(ordered), **at, "max": ordered[-1].item(),
            "above": (ordered > bound).double().mean().item()}


def report(rows: list[dict], total: dict, command: str, largest: int = 12) -> str:
    """Markdown: the statistics over all elements, then per tensor for the ``largest`` tensors."""
    header = ["tensor", "elements", "median", "99%", "99.9%", "max", f"share above {total['bound']:.1f}"]

    def line(r):
        return [r["name"], f"{r['elements']:,}", *(f"{r[f'q{q}']:.3g}" for q in QUANTILES), f"{r['max']:.3g}",
                f"{100 * r['above']:.3f}%"]
    lines = [f"Command: `{command}`", "", "|update| / lr per element at the checkpoint's last update "
             f"(`nmt/step_size.py`); {total['bound']:.1f} = 1/sqrt(1 - beta2), the largest step Adam with "
             "beta1 = 0 and the same beta2 can take.", ""]
    lines += markdown_table(header, [line(total)])
    lines += ["", f"The {min(largest, len(rows))} largest tensors:", ""]
    lines += markdown_table(header, [line(r) for r in sorted(rows, key=lambda r: -r["elements"])[:largest]])
    return "\n".join(lines) + "\n"
