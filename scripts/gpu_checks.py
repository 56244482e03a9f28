"""The GPU checks, sized for one 15-minute device window (docs/benchmarks.md, "The GPU checks").

    python3 scripts/gpu_checks.py OUT              # on the GPU machine: at most 8 minutes on an H100
    python3 scripts/gpu_checks.py --dry-run OUT    # the rehearsal: every step on the CPU at tiny sizes (< 3 min)

Writes ``OUT/gpu_checks.json`` (one entry per step: name, status ok / failed / skipped / timeout,
seconds, numbers, and the error or reason) and ``OUT/gpu_checks.log``. Each step runs in its own
process under its own time box, so a step that fails or hangs costs only its box; the others run.
The steps, most valuable first:

1. ``environment``: GPU name and memory, torch, triton and Python versions.
2. ``optimizer_tests``: the suite's CUDA tests with pytest where pytest is importable (the tests
   marked for CUDA: the Triton kernels natively against the CPU reference path, CPU -> CUDA resume);
   always, and standalone, every optimizer's default path against the float64 references
   (``tests/reference_optimizers.py``), CPU -> device resume, and bf16/fp16 parameters following a
   float32 run with float32 state.
3. ``step_benchmark``: every optimizer against torch's fused Adam at ~25M and ~200M parameters
   (``scripts/bench_optimizers.py``: the device's copy bandwidth measured in the same rounds, the
   fraction of that limit), plus kernel launches per step (``torch.profiler``).
4. ``critic``: the WGAN critic trainer (``gan.train``), a short run: iterations/s, and a resume on
   the device from a checkpoint written on the CPU.
5. ``vision``: ``fmnist-resnet``'s model, one epoch: images/s and accuracy.
6. ``fairseq``: ``fairseq-train --optimizer adashift --fp16``, 200 updates on the prepared Bible data.
   The GPU image has no fairseq: ``scripts/gpu_prepare.sh`` (run here, with the registry) puts its
   source and its missing pure-Python and cp312 dependencies under ``.gpudeps/``, which travels with
   the tree; this step builds fairseq's extensions there against the image's torch, timed, and
   reports the build's seconds beside the training's. Without ``.gpudeps/`` it is skipped, saying so.

On the dry run, "device" is the CPU: the Triton kernels run under Triton's interpreter, the bench at
~0.2M parameters, the trainers for a few steps, fairseq on the ``bible-tiny`` data without ``--fp16``.
Everything the steps need is in the working tree (no project virtual environment): ``$PY`` or ``python3``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(os.environ.get("GPU_CHECKS_WORK", Path(tempfile.gettempdir()) / "gpu_checks-work"))  # runs: not in OUT
# (only 8 files come back from the device's $OUT: gpu_checks.json and gpu_checks.log go there, nothing else)
# name -> (time box in seconds on the GPU machine, on the dry run)
# (the GPU machine's boxes sum to 8 minutes: the whole call fits a 540 s limit with the machine's start aside)
# (the dry run's boxes are loose: CI's machine may be loaded; a step past its box fails the rehearsal)
STEPS = {"environment": (20, 40), "optimizer_tests": (90, 80), "step_benchmark": (100, 60),
         "critic": (45, 60), "vision": (45, 60), "fairseq": (180, 120)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python3 scripts/gpu_checks.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="where gpu_checks.json and gpu_checks.log go ($OUT on the device)")
    parser.add_argument("--dry-run", action="store_true", help="every step on the CPU at tiny sizes")
    parser.add_argument("--only", nargs="+", choices=list(STEPS), help="run only these steps")
    parser.add_argument("--step", choices=list(STEPS), help=argparse.SUPPRESS)  # one step, in its own process
    args = parser.parse_args(argv)
    if args.step:
        return _one_step(args.step, args.out, args.dry_run)
    args.out.mkdir(parents=True, exist_ok=True)
    if WORK.exists():
        shutil.rmtree(WORK)  # this script's own scratch folder: every check starts fresh
    WORK.mkdir(parents=True)
    log = (args.out / "gpu_checks.log").open("w")
    report = {"dry_run": args.dry_run, "started": time.strftime("%Y-%m-%d %H:%M:%S"), "steps": []}
    for name in args.only or STEPS:
        box = STEPS[name][1 if args.dry_run else 0]
        entry = _run_step(name, args, box, log)
        report["steps"].append(entry)
        print(f"gpu_checks: {name}: {entry['status']} ({entry['seconds']:.1f} s)", file=sys.stderr, flush=True)
        (args.out / "gpu_checks.json").write_text(json.dumps(report, indent=1))  # after each step: a cut run keeps them
    report["seconds"] = sum(s["seconds"] for s in report["steps"])
    (args.out / "gpu_checks.json").write_text(json.dumps(report, indent=1))
    log.close()
    return 0 if all(s["status"] in ("ok", "skipped") for s in report["steps"]) else 1


def _run_step(name: str, args, box: int, log) -> dict:
    result_file = args.out / f".step-{name}.json"
    result_file.unlink(missing_ok=True)
    command = [sys.executable, str(Path(__file__).resolve()), str(args.out), "--step", name,
               *(["--dry-run"] if args.dry_run else [])]
    # .gpudeps/ (scripts/gpu_prepare.sh) stands in for what the bare GPU image lacks; the rehearsal runs in
    # this machine's environment, which has it all: with .gpudeps/ first on the path it imported fairseq's
    # unbuilt source tree instead of the installed one, and timed out
    deps = [] if args.dry_run else _deps()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), *deps, os.environ.get("PYTHONPATH")])))
    if args.dry_run:
        env["TRITON_INTERPRET"] = "1"  # the Triton kernels on CPU tensors
    started = time.perf_counter()
    log.write(f"==== {name} (box {box} s)\n")
    log.flush()
    try:
        code = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT, timeout=box).returncode
        status = None
    except subprocess.TimeoutExpired:
        code, status = None, "timeout"
    seconds = time.perf_counter() - started
    entry = {"name": name, "status": status or "failed", "seconds": seconds, "box_s": box, "numbers": {}}
    if result_file.exists():
        entry.update({k: v for k, v in json.loads(result_file.read_text()).items() if k != "name"})
        entry["seconds"] = seconds
        result_file.unlink()
    elif status is None:
        entry["error"] = f"exit status {code} before writing a result (the log has it)"
    if status == "timeout":
        entry["status"], entry["error"] = "timeout", f"did not finish in its {box} s box"
    return entry


def _deps() -> list[str]:
    """Folders of ``.gpudeps/`` that hold importable packages (scripts/gpu_prepare.sh)."""
    base = ROOT / ".gpudeps"
    return [str(base / "site")] + ([str(base / "fairseq")] if (base / "fairseq").is_dir() else []) if base.is_dir() else []


def _one_step(name: str, out: Path, dry: bool) -> int:
    result = {"status": "ok", "numbers": {}}
    try:
        outcome = globals()[f"step_{name}"](dry, out)
        if isinstance(outcome, tuple):  # (status, reason, numbers): skipped or failed with a reason
            result["status"], result["reason"], result["numbers"] = outcome
        else:
            result["numbers"] = outcome
    except Exception as error:  # noqa: BLE001 - any failure of a step is its result, not the run's end
        traceback.print_exc()
        result.update({"status": "failed", "error": f"{type(error).__name__}: {error}"[:500]})
    (out / f".step-{name}.json").write_text(json.dumps(result, indent=1, default=str))
    return 0 if result["status"] in ("ok", "skipped") else 1


def _device(dry: bool):
    import torch  # noqa: PLC0415

    if dry:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise RuntimeError("no CUDA device here (use --dry-run for the CPU rehearsal)")
    return torch.device("cuda")


# -- the steps ----------------------------------------------------------------------------------

def step_environment(dry: bool, out: Path) -> dict:
    import torch  # noqa: PLC0415

    numbers = {"python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
               "cpu_cores": os.cpu_count(), "cuda_available": torch.cuda.is_available()}
    try:
        import triton  # noqa: PLC0415
        numbers["triton"] = triton.__version__
    except ImportError:
        numbers["triton"] = None
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        numbers.update({"gpu": props.name, "gpu_memory_gib": props.total_memory / 2**30,
                        "capability": f"{props.major}.{props.minor}", "gpus": torch.cuda.device_count()})
    elif not dry:
        raise RuntimeError("no CUDA device")
    for module in ("fairseq", "pytest", "hypothesis", "torchvision", "sacrebleu", "tensorboard"):
        try:
            numbers[module] = __import__(module).__version__
        except Exception:  # noqa: BLE001
            numbers[module] = None
    return numbers


def _reference_cases():
    sys.path.insert(0, str(ROOT / "tests"))
    import reference_optimizers as ref  # noqa: PLC0415

    return {  # name -> (our kwargs, the float64 reference of the same rule)
        "adam": ({}, lambda p: ref.ReferenceAdam(p, lr=0.01, betas=(0.9, 0.999), eps=1e-8)),
        "amsgrad": ({}, lambda p: ref.ReferenceAdam(p, lr=0.01, betas=(0.9, 0.999), eps=1e-8, amsgrad=True)),
        "adamal": ({}, lambda p: ref.ReferenceAdam(p, lr=0.01, betas=(0.9, 0.999), eps=1e-8, max_ema=True)),
        "adamnc": ({}, lambda p: ref.ReferenceAdamNC(p, lr=0.01, beta1=0.9, beta1_decay=1.0, eps=1e-8, lr_decay=True)),
        "adopt": ({}, lambda p: ref.ReferenceADOPT(p, lr=0.01, betas=(0.9, 0.9999), eps=1e-6, clip_exponent=0.25)),
        "adashift-none": ({"keep_num": 3, "reduce": "none"},
                          lambda p: ref.ReferenceAdaShift(p, lr=0.01, betas=(0.9, 0.999), keep_num=3, reduce="none",
                                                          eps=1e-10)),
        "adashift-max": ({"keep_num": 3, "reduce": "max"},
                         lambda p: ref.ReferenceAdaShift(p, lr=0.01, betas=(0.9, 0.999), keep_num=3, reduce="max",
                                                         eps=1e-10)),
    }


def step_optimizer_tests(dry: bool, out: Path) -> dict:
    import numpy as np  # noqa: PLC0415
    import torch  # noqa: PLC0415

    from optim_plugins import _native, _triton, build_optimizer  # noqa: PLC0415

    device = _device(dry)
    if dry:
        _triton.ON_CPU = True  # the Triton kernels on CPU tensors, under the interpreter
        _native.cpu_kernels = lambda: None
    numbers = {"pytest": _cuda_pytest(dry)}
    shapes, steps = [(64, 33), (1000,), (7, 5, 3)], 30 if dry else 60
    worst = {}
    rng = np.random.default_rng(0)
    start = [rng.normal(size=s) for s in shapes]
    grads = [[rng.normal(size=s) for s in shapes] for _ in range(steps)]
    for name, (kwargs, reference) in _reference_cases().items():
        opt_name = name.split("-")[0]
        # float32 on the device: the fast path (torch's fused kernels, the Triton kernels) against float64
        params = [torch.tensor(p, dtype=torch.float32, device=device, requires_grad=True) for p in start]
        optimizer = build_optimizer(opt_name, params, lr=0.01, **kwargs)
        ref = reference([p.copy() for p in start])
        for g in grads:
            for p, gi in zip(params, g):
                p.grad = torch.tensor(gi, dtype=torch.float32, device=device)
            optimizer.step()
            ref.step(g)
        worst[name] = max(float(np.max(np.abs(p.detach().cpu().double().numpy() - r))) for p, r in zip(params, ref.p))
    numbers["fast_path_vs_float64_reference_max_abs"] = worst
    numbers["resume_cpu_to_device_max_abs"] = _resume_onto(device, build_optimizer)
    numbers["low_precision_max_ulps_vs_float32"] = _low_precision(device, build_optimizer)
    failed = {k: v for k, v in worst.items() if not v < 1e-4}
    failed.update({f"resume {k}": v for k, v in numbers["resume_cpu_to_device_max_abs"].items() if not v < 1e-5})
    failed.update({f"low precision {k}": v for k, v in numbers["low_precision_max_ulps_vs_float32"].items()
                   if not v < 8})
    if numbers["pytest"].get("exit_status") not in (0, None):
        failed["pytest"] = numbers["pytest"]["exit_status"]
    if failed:
        raise AssertionError(f"outside tolerance: {failed}")
    return numbers


def _cuda_pytest(dry: bool) -> dict:
    """The suite's own CUDA tests, where pytest is importable (the GPU image has none unless .gpudeps
    brings it): the tests whose names say cuda or triton."""
    try:
        import hypothesis  # noqa: F401, PLC0415
        import pytest  # noqa: F401, PLC0415
    except ImportError:
        return {"ran": False, "reason": "pytest/hypothesis not importable (scripts/gpu_prepare.sh brings them)"}
    if dry:
        return {"ran": False, "reason": "dry run: the CI runs these tests itself"}
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_optimizers.py",
                             "-k", "cuda or triton"], cwd=ROOT, capture_output=True, text=True)
    print(result.stdout[-3000:], result.stderr[-2000:])
    return {"ran": True, "exit_status": result.returncode, "seconds": time.perf_counter() - started,
            "summary": (result.stdout.strip().splitlines() or [""])[-1]}


def _resume_onto(device, build_optimizer) -> dict:
    import torch  # noqa: PLC0415

    out = {}
    for name, kwargs in (("adam", {}), ("adamal", {}), ("adopt", {}), ("adashift", {"keep_num": 3, "reduce": "none"})):
        torch.manual_seed(0)
        base = [torch.randn(50, 20), torch.randn(20)]
        generator = torch.Generator().manual_seed(1)
        grads = [[torch.randn(p.shape, generator=generator) for p in base] for _ in range(8)]
        straight = [p.clone().requires_grad_() for p in base]
        optimizer = build_optimizer(name, straight, lr=0.01, **kwargs)
        half = [p.clone().requires_grad_() for p in base]
        first = build_optimizer(name, half, lr=0.01, **kwargs)
        for i, g in enumerate(grads):
            for p, gi in zip(straight, g):
                p.grad = gi.clone()
            optimizer.step()
            if i < 4:
                for p, gi in zip(half, g):
                    p.grad = gi.clone()
                first.step()
        moved = [p.detach().to(device).requires_grad_() for p in half]
        second = build_optimizer(name, moved, lr=0.01, **kwargs)
        second.load_state_dict(first.state_dict())
        for g in grads[4:]:
            for p, gi in zip(moved, g):
                p.grad = gi.to(device)
            second.step()
        out[name] = max(float((a - b.cpu()).abs().max()) for a, b in zip(straight, moved))
    return out


def _low_precision(device, build_optimizer) -> dict:
    import torch  # noqa: PLC0415

    out = {}
    dtypes = (torch.bfloat16, torch.float16) if device.type == "cuda" else (torch.bfloat16,)
    for dtype in dtypes:
        for name, kwargs in (("adam", {}), ("adashift", {"keep_num": 2, "reduce": "max"}), ("adopt", {})):
            torch.manual_seed(0)
            base = [torch.randn(64, 32, device=device)]
            low, full = [base[0].to(dtype).requires_grad_()], [base[0].clone().requires_grad_()]
            o_low, o_full = build_optimizer(name, low, lr=0.01, **kwargs), build_optimizer(name, full, lr=0.01, **kwargs)
            generator = torch.Generator().manual_seed(2)
            for _ in range(10):
                g = torch.randn(64, 32, generator=generator).to(device)
                low[0].grad, full[0].grad = g.to(dtype), g.clone()
                o_low.step()
                o_full.step()
            if any(v.dtype != torch.float32 for s in o_low.state.values() for k, v in s.items() if k != "step"):
                raise AssertionError(f"{name} {dtype}: state not kept in float32")
            # in units of the low precision's own rounding at each value (2 ulps of bf16: rtol 2**-7)
            scale = 2.0 ** (-7 if dtype == torch.bfloat16 else -10) * (full[0].abs() + 1e-3)
            out[f"{name} {str(dtype).split('.')[-1]}"] = float(((low[0].float() - full[0]).abs() / scale).max())
    return out


def step_step_benchmark(dry: bool, out: Path) -> dict:
    import torch  # noqa: PLC0415

    sys.path.insert(0, str(ROOT / "scripts"))
    import bench_optimizers  # noqa: PLC0415

    device = _device(dry)
    sizes = ["2e5"] if dry else ["25e6", "200e6"]
    rounds = ["--rounds", "2", "--warmup", "1"] if dry else ["--rounds", "10", "--warmup", "2"]
    results = bench_optimizers.main(["--device", str(device), "--params", *sizes, *rounds, "--out", str(WORK / "bench")])
    numbers = {"sizes": []}
    for result in results:
        numbers["sizes"].append({"params": result["params"], "limit_gbs": result["limit_gbs"],
                                 "rows": [{k: r[k] for k in ("candidate", "median_ms", "ratio", "fraction_of_limit",
                                                             "state_bytes_per_param")} for r in result["rows"]]})
    numbers["kernel_launches_per_step"] = _launches(device) if device.type == "cuda" else None
    return numbers


def _launches(device) -> dict:
    """CUDA kernels launched by one steady-state step of each optimizer (torch.profiler)."""
    import torch  # noqa: PLC0415
    from torch.profiler import ProfilerActivity, profile  # noqa: PLC0415

    from optim_plugins import build_optimizer  # noqa: PLC0415

    out = {}
    cases = {"torch.Adam fused": None, "adam": {}, "amsgrad": {}, "adamal": {}, "adamnc": {}, "adopt": {},
             "adashift n=10 none": {"keep_num": 10, "reduce": "none"}, "adashift n=10 max": {"keep_num": 10, "reduce": "max"}}
    for label, kwargs in cases.items():
        params = [torch.randn(s, device=device, requires_grad=True) for s in ((512, 512), (512,), (2048, 512))]
        optimizer = torch.optim.Adam(params, fused=True) if kwargs is None else \
            build_optimizer(label.split()[0], params, lr=1e-3, **kwargs)
        for p in params:
            p.grad = torch.randn_like(p)
        for _ in range(12):  # past AdaShift's window
            optimizer.step()
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            optimizer.step()
            torch.cuda.synchronize()
        out[label] = sum(1 for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA)
    return out


def _fashion_mnist_available() -> bool:
    try:
        from suite_data.images import load_image_dataset  # noqa: PLC0415

        load_image_dataset("fashion-mnist", train=False)
        return True
    except Exception:  # noqa: BLE001 - the data package was not carried
        return False


def step_critic(dry: bool, out: Path) -> dict:
    import torch  # noqa: PLC0415

    from gan.train import GANConfig, Trainer  # noqa: PLC0415

    device = _device(dry)
    # the dry run takes the 2-D data: an image run's last step trains the quality metric's feature net
    dataset = "fashion-mnist" if not dry and _fashion_mnist_available() else "8gaussians"
    iterations = 10 if dry else 400
    common = dict(dataset=dataset, fixed_generator=True, loss="adashift-maxgp", critic_optimizer="adashift",
                  preset="adashift-paper", batch_size=64, log_every=10, eval_every=10_000, eval_samples=200,
                  checkpoint_every=iterations // 2, image_limit=2000 if dataset != "8gaussians" else None)
    run = WORK / "critic"
    fitted = Trainer(GANConfig(**common, iterations=iterations, device=str(device), out=str(run / "device"))).fit()
    # resume on the device from a checkpoint written on the CPU
    cpu_run = run / "from-cpu"
    Trainer(GANConfig(**common, iterations=iterations // 2, device="cpu", out=str(cpu_run))).fit()
    resumed = Trainer(GANConfig(**common, iterations=iterations, device=str(device), out=str(cpu_run))).fit()
    return {"dataset": dataset, "iterations": iterations, "iterations_per_second": fitted.get("iterations_per_second"),
            "resumed_from_cpu_to": str(device), "resumed_final_critic_loss": resumed.get("critic_loss"),
            "device_final_critic_loss": fitted.get("critic_loss"), "torch": torch.__version__}


def step_vision(dry: bool, out: Path) -> dict:
    import torch  # noqa: PLC0415

    from vision import data, models  # noqa: PLC0415
    from optim_plugins import build_optimizer  # noqa: PLC0415

    if not _fashion_mnist_available():
        return ("skipped", "Fashion-MNIST not here: carry data/debs/dataset-fashion-mnist (docs/benchmarks.md)", {})
    device = _device(dry)
    limit = 512 if dry else None
    train, valid = data.train_valid("fashion-mnist", 5000 if not dry else 256, limit)
    model = models.build("resnet8", train.images.shape[1]).to(device)
    optimizer = build_optimizer("adam", model.parameters(), lr=3e-3)
    images, labels = train.images.to(device), train.labels.to(device)
    generator = torch.Generator().manual_seed(0)
    order = torch.randperm(len(labels), generator=generator)
    batch, seen = 128, 0
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for index in range(0, len(labels), batch):
        chosen = order[index:index + batch].to(device)
        x = data.normalise(data.augment(images[chosen].cpu(), generator), "fashion-mnist").to(device)
        loss = torch.nn.functional.cross_entropy(model(x), labels[chosen])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        seen += len(chosen)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    model.eval()
    with torch.no_grad():
        x = data.normalise(valid.images, "fashion-mnist").to(device)
        accuracy = float((model(x).argmax(1).cpu() == valid.labels).float().mean() * 100)
    return {"images": seen, "seconds": seconds, "images_per_second": seen / seconds,
            "valid_accuracy_after_one_epoch": accuracy, "model": "resnet8", "optimizer": "adam lr 3e-3"}


def step_fairseq(dry: bool, out: Path) -> dict:
    build_seconds = None
    try:
        import fairseq  # noqa: F401, PLC0415
    except ImportError:
        source = ROOT / ".gpudeps" / "fairseq"
        if not source.is_dir():
            return ("skipped", "fairseq is not on this image and .gpudeps/fairseq did not travel "
                    "(bash scripts/gpu_prepare.sh, then carry .gpudeps)", {})
        started = time.perf_counter()  # the C++/Cython extensions only (no CUDA_HOME: no CUDA extensions to build)
        env = {k: v for k, v in os.environ.items() if k != "CUDA_HOME"}
        built = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace", "--parallel",
                                str(os.cpu_count() or 1)], cwd=source, capture_output=True, text=True, env=env)
        build_seconds = time.perf_counter() - started
        if built.returncode:
            print(built.stdout[-3000:], built.stderr[-3000:])
            return ("failed", f"building fairseq's extensions against this torch failed after {build_seconds:.0f} s",
                    {"build_seconds": build_seconds})
    data_dir = ROOT / "outputs" / "nmt" / ("bench-bible-tiny" if dry else "bench-bible-cpu") / "bin"
    if dry:  # made here when missing or damaged, reused when whole (nmt.prepare checks its binaries)
        from nmt.benchmark import BENCHMARKS  # noqa: PLC0415
        from nmt.prepare import prepare  # noqa: PLC0415

        b = BENCHMARKS["bible-tiny"]
        prepare(b.corpus, data_dir.parent, b.valid, b.test, b.max_train, b.vocab_size, seed=1)
    else:  # made here (scripts/gpu_prepare.sh) and carried: every binary fairseq-train reads (bible-cpu's corpus)
        from nmt.prepare import CORPORA, binaries  # noqa: PLC0415 - stdlib only on import (the bare GPU image)

        missing = [f for f in binaries(*CORPORA["bible-en-es"]) if not (data_dir / f).is_file()]
        if missing:
            return ("skipped", f"{data_dir.relative_to(ROOT)} did not travel whole (lacks {', '.join(missing)}; "
                    "carry it: docs/benchmarks.md)", {"build_seconds": build_seconds})
    updates = 8 if dry else 200
    model = (["--arch", "transformer", "--encoder-layers", "1", "--decoder-layers", "1", "--encoder-embed-dim", "32",
              "--decoder-embed-dim", "32", "--encoder-ffn-embed-dim", "64", "--decoder-ffn-embed-dim", "64",
              "--encoder-attention-heads", "2", "--decoder-attention-heads", "2", "--share-all-embeddings"] if dry else
             ["--arch", "transformer", "--encoder-layers", "3", "--decoder-layers", "3", "--encoder-embed-dim", "256",
              "--decoder-embed-dim", "256", "--encoder-ffn-embed-dim", "512", "--decoder-ffn-embed-dim", "512",
              "--encoder-attention-heads", "4", "--decoder-attention-heads", "4", "--share-all-embeddings"])
    run = WORK / "fairseq"
    train = "import optim_plugins.fairseq_plugin; from fairseq_cli.train import cli_main; cli_main()"  # our --optimizer
    command = [sys.executable, "-c", train, str(data_dir), *model,
               "--optimizer", "adashift", "--lr", "1e-3", "--adam-betas", "(0.0, 0.999)", "--keep-num", "1",
               "--reduce", "none", "--lr-scheduler", "inverse_sqrt", "--warmup-updates", "50", "--warmup-init-lr",
               "1e-7", "--max-tokens", "512" if dry else "4096", "--max-update", str(updates), "--seed", "1",
               "--save-dir", str(run / "checkpoints"), "--no-epoch-checkpoints", "--log-format", "simple",
               "--log-interval", "50", "--criterion", "label_smoothed_cross_entropy", "--label-smoothing", "0.1",
               *([] if dry else ["--fp16"]), *(["--cpu"] if dry else [])]
    started = time.perf_counter()
    trained = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    print(trained.stdout[-4000:], trained.stderr[-3000:])
    if trained.returncode:
        return ("failed", f"fairseq-train exited {trained.returncode}", {"build_seconds": build_seconds})
    losses = [line for line in trained.stdout.splitlines() if "| train |" in line or "num_updates" in line]
    return {"updates": updates, "seconds": seconds, "updates_per_second": updates / seconds, "fp16": not dry,
            "build_seconds": build_seconds, "last_log": losses[-1][-300:] if losses else None}


if __name__ == "__main__":
    raise SystemExit(main())
