"""A benchmark's sweep on a SLURM cluster through submitit: the ``slurm`` executor.

The driver (``python -m <benchmark> ... --executor slurm``) walks the benchmark's protocol as the
local sweep does (``suite_results.sweeps``), but instead of training a row it submits every run the
protocol needs now, together, as one job array (submitit's ``AutoExecutor``, ``map_array``); the
protocol's later runs are listed only once the runs they depend on have landed, so the protocol's
order holds (the grid, then the promoted lrs, then the seeds). Jobs write rows only, atomically, as a
local run does; the driver alone rewrites ``summary.json``, the pages and the TensorBoard export,
after each batch of rows lands.

Resumable: rows are the truth. The driver keeps each run's job id beside the runs
(``<runs>/slurm-jobs.json``, written atomically with every submission), so a restarted driver
submits only what has neither a row nor a live job (``squeue``), and a job that ended while no
driver watched is judged by its result file. A job that fails (non-zero exit, cancelled, timed
out, preempted: it ended without a result) is reported with its log path and resubmitted, at most
``retries`` times; it never becomes a row. Job states come from ``squeue`` and submitit's result
files, not from ``sacct``, so a cluster without accounting works too.

Settings (flags or a TOML file, ``--slurm-config``; flags win): partition, time limit per run
(minutes), CPUs and GPUs per run, memory, array parallelism, retries, poll interval.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .files import atomic_write_text


@dataclass
class SlurmConfig:
    partition: str | None = None  # None: the cluster's default partition
    time_min: int = 240  # per run
    cpus_per_task: int = 1  # the suite's sweeps run one thread per run
    gpus_per_node: int = 0
    mem_gb: float | None = None
    array_parallelism: int = 64
    retries: int = 2  # resubmissions of a failed run
    poll_s: float = 30.0

    def __post_init__(self):
        for name in ("time_min", "cpus_per_task", "array_parallelism"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Invalid slurm {name}: {value!r} (expected a whole number >= 1)")
        for name in ("gpus_per_node", "retries"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"Invalid slurm {name}: {value!r} (expected a whole number >= 0)")
        if not (isinstance(self.poll_s, (int, float)) and self.poll_s > 0):
            raise ValueError(f"Invalid slurm poll_s: {self.poll_s!r} (expected a number > 0)")

    @classmethod
    def load(cls, path: Path | None, **flags) -> SlurmConfig:
        """The settings of a TOML file (its keys: this class's fields), then the flags that were given."""
        values = {}
        if path is not None:
            try:
                values = tomllib.loads(Path(path).read_text())
            except (OSError, tomllib.TOMLDecodeError) as error:
                raise ValueError(f"--slurm-config {path}: {error}") from None
            unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
            if unknown:
                raise ValueError(f"--slurm-config {path}: unknown setting(s) {unknown} (known: "
                                 f"{', '.join(f.name for f in dataclasses.fields(cls))})")
        values.update({k: v for k, v in flags.items() if v is not None})
        return cls(**values)


def add_arguments(parser) -> None:
    """The executor flags every benchmark CLI takes."""
    group = parser.add_argument_group("executor (suite_results.slurm)")
    group.add_argument("--executor", choices=["local", "slurm"], default="local",
                       help="local: processes on this machine (default); slurm: job arrays through submitit")
    group.add_argument("--slurm-config", type=Path, default=None, help="a TOML file of the settings below")
    group.add_argument("--slurm-partition", default=None)
    group.add_argument("--slurm-time-min", type=int, default=None, help="time limit per run, minutes (240)")
    group.add_argument("--slurm-cpus-per-task", type=int, default=None, help="CPUs per run (1)")
    group.add_argument("--slurm-gpus-per-node", type=int, default=None, help="GPUs per run (0)")
    group.add_argument("--slurm-mem-gb", type=float, default=None)
    group.add_argument("--slurm-array-parallelism", type=int, default=None, help="runs at once (64)")
    group.add_argument("--slurm-retries", type=int, default=None, help="resubmissions of a failed run (2)")
    group.add_argument("--slurm-poll-s", type=float, default=None, help="seconds between looks at the queue (30)")


def config_from(args) -> SlurmConfig | None:
    """The SlurmConfig of parsed arguments (None for the local executor); checks sbatch is there."""
    if args.executor != "slurm":
        return None
    config = SlurmConfig.load(args.slurm_config, partition=args.slurm_partition, time_min=args.slurm_time_min,
                              cpus_per_task=args.slurm_cpus_per_task, gpus_per_node=args.slurm_gpus_per_node,
                              mem_gb=args.slurm_mem_gb, array_parallelism=args.slurm_array_parallelism,
                              retries=args.slurm_retries, poll_s=args.slurm_poll_s)
    available()
    return config


def available() -> None:
    """A one-line error unless SLURM's commands and submitit are here."""
    try:
        import submitit  # noqa: F401, PLC0415
    except ImportError:
        raise ValueError("--executor slurm needs submitit (pip install submitit)") from None
    try:
        subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, check=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as error:
        raise ValueError(f"--executor slurm: no SLURM here (squeue: {error})") from None


def live_jobs(job_ids: list[str]) -> set[str]:
    """The job ids that squeue still lists (pending, running, completing, ...)."""
    if not job_ids:
        return set()
    out = subprocess.run(["squeue", "-h", "-r", "-o", "%i %T", "-j", ",".join(job_ids)],
                         capture_output=True, text=True, timeout=60)
    # -r: one line per array task, 123_4 as submitit names them (else pending tasks show as 123_[2-5]);
    # a job that ended may still be listed for a while (MinJobAge) in an end state
    ended = {"COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "PREEMPTED", "NODE_FAIL", "BOOT_FAIL", "DEADLINE",
             "OUT_OF_MEMORY", "SPECIAL_EXIT", "REVOKED"}
    listed = {line.split()[0] for line in out.stdout.splitlines() if line.strip() and line.split()[-1] not in ended}
    return {j for j in job_ids if j in listed}


def outcome(folder: Path, job_id: str) -> tuple[str, str]:
    """('success' | 'error' | 'no result', the job's stderr log path) of a job that is no longer queued;
    ``folder``: the executor's folder pattern (``.../logs/%j``)."""
    import submitit  # noqa: PLC0415

    job = submitit.SlurmJob(folder=folder, job_id=job_id)
    log = str(job.paths.stderr)
    if not job.paths.result_pickle.exists():
        return "no result", log  # cancelled, timed out, preempted, killed: it ended without a result
    kind, _ = job._get_outcome_and_result()
    return ("success" if kind == "success" else "error"), log


def run(prog: str, todo: Callable[[], list], key: Callable, job: Callable, after: Callable[[bool], None],
        config: SlurmConfig, folder: Path, label: Callable = str) -> int:
    """Drive the sweep on SLURM until ``todo()`` is empty (module docstring). ``key(item)``: a run's
    name (its row's file stem); ``job(item)``: what a job runs (picklable; it writes the row);
    ``after(True)``: rewrite the results (the driver is their one writer). Returns the runs landed."""
    import submitit  # noqa: PLC0415

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state_path = folder / "slurm-jobs.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {"runs": {}, "submissions": []}
    executor = submitit.AutoExecutor(folder=folder / "logs" / "%j", cluster="slurm")
    executor.update_parameters(timeout_min=config.time_min, cpus_per_task=config.cpus_per_task,
                               slurm_array_parallelism=config.array_parallelism,
                               **({"slurm_partition": config.partition} if config.partition else {}),
                               **({"gpus_per_node": config.gpus_per_node} if config.gpus_per_node else {}),
                               **({"mem_gb": config.mem_gb} if config.mem_gb else {}))
    landed = 0

    def save():
        atomic_write_text(state_path, json.dumps(state, indent=1))

    def say(text):
        print(f"{prog}: {text}", file=sys.stderr, flush=True)

    while True:
        items = todo()
        if not items:
            return landed
        runs = state["runs"]
        watched = [r["job_id"] for r in runs.values() if r.get("job_id")]
        live = live_jobs(watched)
        changed = False
        for name, record in runs.items():  # jobs that ended since the last look
            if record.get("job_id") and record["job_id"] not in live:
                kind, log = outcome(folder / "logs" / "%j", record["job_id"])
                if kind != "success":
                    record["failures"] = record.get("failures", 0) + 1
                    say(f"{name}: job {record['job_id']} failed ({kind}); its log: {log}")
                else:
                    landed += 1
                    changed = True
                record["job_id"] = None
        if changed:
            after(True)
            items = todo()
            if not items:
                save()
                return landed
        names = {key(item): item for item in items}
        exhausted = [n for n in names if runs.get(n, {}).get("failures", 0) > config.retries
                     and not runs[n].get("job_id")]
        if exhausted:
            save()
            raise RuntimeError(f"{len(exhausted)} run(s) failed {config.retries + 1} times: {', '.join(exhausted)} "
                               f"(logs under {folder / 'logs'})")
        to_submit = [item for n, item in names.items() if not runs.get(n, {}).get("job_id")]
        if to_submit:
            jobs = executor.map_array(job, to_submit)
            for item, submitted in zip(to_submit, jobs):
                record = runs.setdefault(key(item), {"failures": 0})
                record["job_id"] = submitted.job_id
                state["submissions"].append({"run": key(item), "job_id": submitted.job_id})
            save()
            say(f"submitted {len(jobs)} run(s) as job array {jobs[0].job_id.split('_')[0]}: "
                + ", ".join(label(item) for item in to_submit[:5]) + (" ..." if len(to_submit) > 5 else ""))
        else:
            save()
        time.sleep(config.poll_s)
