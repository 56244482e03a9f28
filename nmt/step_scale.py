r"""What a per-tensor reduce does to the step of each element, read from fairseq checkpoints:
``python -m nmt step-scale ELEMENTWISE_CHECKPOINT [--reduced ADASHIFT_CHECKPOINT] [--out FILE]``.

AdaShift with reduce "max" divides every element of a tensor by one number, the square root of the
(bias-corrected) EMA of the tensor's largest squared shifted gradient; Adam and AMSGrad divide each
element by its own sqrt(v_i). Per parameter tensor this reports, from the optimizer state stored
in the checkpoints (nothing is recomputed, no data is read):

* ``shrink`` = sqrt(max_i v_i / median_i v_i), from the elementwise run alone: how many times
  smaller the median element's step would be if its v were replaced by the tensor's largest
  (1: reducing with max costs the typical element nothing);
* ``vs elementwise`` = sqrt(v_reduced / median_i v_i), with ``--reduced`` a checkpoint of a
  reduce-max AdaShift run of the same model: AdaShift's step per unit gradient relative to the
  elementwise run's for its median element, at the same lr (> 1: AdaShift moves it less).

v_i is Adam's ``exp_avg_sq`` (AMSGrad's ``max_exp_avg_sq``) / (1 - beta2^t); AdaShift's v is
``exp_avg_sq`` / max(1e-8, 1 - beta2^k), k its steps since the gate opened (``optim_plugins.adashift``).
Parameters are named by the model's state dict, in the order fairseq gives them to its optimizer
(buffers ``version`` and ``_float_tensor`` left out, a shared tensor once); a checkpoint whose
optimizer state does not line up with its model is refused, naming the first tensor that differs.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import torch

from suite_results.tables import markdown_table

BUFFERS = ("version", "_float_tensor")  # fairseq's registered buffers in a transformer state dict


def load(path: Path) -> dict:
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: a directory, not a checkpoint file (a run's checkpoints are "
                         f"checkpoints/checkpoint_last.pt and checkpoint_best.pt)")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)  # fairseq's hold its argparse args
    except Exception as error:  # noqa: BLE001 - truncated or foreign files fail in many ways inside torch.load
        first = (str(error).strip().splitlines() or [""])[0][:200]
        raise ValueError(f"{path}: not a readable checkpoint ({type(error).__name__}: {first})") from None
    if not isinstance(checkpoint, dict) or not {"model", "last_optimizer_state"} <= checkpoint.keys():
        raise ValueError(f"{path}: not a fairseq checkpoint with optimizer state "
                         "('model' and 'last_optimizer_state' missing)")
    return checkpoint


def parameters(checkpoint: dict, path: Path) -> list[tuple[str, dict, dict]]:
    """(name, optimizer state, param group) of each parameter, in the optimizer's order."""
    names, seen = [], set()
    for name, tensor in checkpoint["model"].items():
        if name.rsplit(".", 1)[-1] in BUFFERS or tensor.data_ptr() in seen:
            continue
        seen.add(tensor.data_ptr())
        names.append((name, tensor.shape))
    optimizer = checkpoint["last_optimizer_state"]
    group_of = {i: g for g in optimizer["param_groups"] for i in g["params"]}
    if len(group_of) != len(names):
        raise ValueError(f"{path}: {len(group_of)} optimizer parameters for {len(names)} model tensors")
    out = []
    for index, (name, shape) in enumerate(names):
        state = optimizer["state"].get(index)
        if state is None or "exp_avg_sq" not in state:
            raise ValueError(f"{path}: parameter {index} ({name}) has no exp_avg_sq in the optimizer state")
        v = state["exp_avg_sq"]
        if v.dim() != 0 and v.shape != shape:
            raise ValueError(f"{path}: optimizer state {index} has shape {tuple(v.shape)}, "
                             f"model tensor {name} {tuple(shape)}")
        out.append((name, state, group_of[index]))
    return out


def corrected_v(state: dict, group: dict) -> torch.Tensor:
    """The bias-corrected second moment the step divides by (float64)."""
    beta2, step = group["betas"][1], float(state["step"])
    if "active_since" in state:  # AdaShift
        since = state["active_since"].double()
        k = torch.where(since > 0, step - since + 1, 0.0)
        return state["exp_avg_sq"].double() / torch.clamp(1 - beta2 ** k, min=1e-8)
    v = state["max_exp_avg_sq"] if "max_exp_avg_sq" in state else state["exp_avg_sq"]
    return v.double() / (1 - beta2 ** step)


def step_scale(elementwise: Path, reduced: Path | None = None) -> list[dict]:
    """One row per parameter tensor: name, elements, shrink, and vs_elementwise with ``reduced``."""
    rows = []
    for name, state, group in parameters(load(elementwise), elementwise):
        if state["exp_avg_sq"].dim() == 0:
            raise ValueError(f"{elementwise}: {name} has one v for the whole tensor; the first checkpoint "
                             "must be of an elementwise run (Adam, AMSGrad, ...)")
        v = corrected_v(state, group).flatten()
        median = v.median()
        rows.append({"name": name, "elements": v.numel(), "median_v": median.item(),
                     "shrink": (v.max() / median).sqrt().item()})
    if reduced is not None:
        other = parameters(load(reduced), reduced)
        if [n for n, _, _ in other] != [r["name"] for r in rows]:
            raise ValueError(f"{reduced}: its model's tensors differ from {elementwise}'s")
        for row, (name, state, group) in zip(rows, other):
            if state["exp_avg_sq"].dim() != 0:
                raise ValueError(f"{reduced}: {name} has a v per element; --reduced takes a reduce max/mean run")
            row["vs_elementwise"] = (corrected_v(state, group) / row["median_v"]).sqrt().item()
    return rows


def weighted_median(rows: list[dict], key: str) -> float:
    """The median of ``key`` over all elements (each tensor's value counted once per element)."""
    ordered = sorted(rows, key=lambda r: r[key])
    half, seen = sum(r["elements"] for r in rows) / 2, 0
    for row in ordered:
        seen += row["elements"]
        if seen >= half:
            return row[key]
    raise ValueError("no rows")


def report(rows: list[dict], command: str, largest: int = 12) -> str:
    """Markdown: the summary over tensors and elements, then the ``largest`` tensors."""
    keys = ["shrink"] + (["vs_elementwise"] if "vs_elementwise" in rows[0] else [])
    lines = [f"Command: `{command}`", "", f"{len(rows)} parameter tensors, {sum(r['elements'] for r in rows):,} "
             "elements. shrink = sqrt(max v / median v) per tensor (elementwise run); vs elementwise = "
             "sqrt(v_reduced / median v): the median element's step per unit gradient, elementwise over "
             "reduced, at the same lr (`nmt/step_scale.py`).", ""]
    lines += markdown_table(["statistic", *keys], [
        ["median over tensors", *(f"{statistics.median(r[k] for r in rows):.1f}" for k in keys)],
        ["median over elements", *(f"{weighted_median(rows, k):.1f}" for k in keys)],
        ["max over tensors", *(f"{max(r[k] for r in rows):.1f}" for k in keys)]])
    lines += ["", f"The {min(largest, len(rows))} largest tensors:", ""]
    lines += markdown_table(["tensor", "elements", *keys], [
        [r["name"], f"{r['elements']:,}", *(f"{r[k]:.1f}" for k in keys)]
        for r in sorted(rows, key=lambda r: -r["elements"])[:largest]])
    return "\n".join(lines) + "\n"
