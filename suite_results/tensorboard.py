"""Checked-in benchmark results as TensorBoard runs, written from the result rows.

``tensorboard --logdir results`` shows every checked-in benchmark curve: each benchmark's summary
(``--no-train`` included) writes one run per result row under ``results/<...>/tensorboard/``,
named ``<candidate>/<phase>/lr<lr>-seed<seed>`` (``<candidate>/lr<lr>-seed<seed>`` where a benchmark
has a single phase), with

* the row's curves as scalars (NMT: validation loss per update; critic: the smoothed loss),
* its final metrics as scalars (``final/bleu``, ``final/smoothed_loss``, ...), and
* its hyperparameters (lr, betas, keep_num, reduce, phase, seed, ...) as an HParams session, so
  TensorBoard's HParams tab lists every run with its settings and metrics to sort and filter.

Why from the rows, checked in: the rows are the results (the run directories that wrote the live
event files stay on the machine that trained them), so the curves must be rebuilt from what is
committed; and writing them in the summary step keeps them in step with ``results.md`` without a
second command to forget. The files are deterministic (one fixed file name per run, wall time =
step), so re-running an unchanged summary rewrites no byte and git sees no change.

No experiment summary is written: TensorBoard's HParams plugin then infers the columns from the
sessions (the union of their hyperparameters; the metrics are the runs' scalar tags), which also
works for ``--logdir results`` across several benchmarks with different hyperparameters.
"""

from __future__ import annotations

import dataclasses
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
from tensorboard.plugins.hparams import api_pb2
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.plugins.hparams import plugin_data_pb2
from tensorboard.summary.writer.record_writer import RecordWriter

from .files import atomic_write_bytes

FILE = "events.out.tfevents.0.suite-results"  # the one file of each run (TensorBoard needs "tfevents")


@dataclass(frozen=True)
class Run:
    name: str  # relative path of the run under the benchmark's tensorboard/ folder
    curves: dict = field(default_factory=dict)  # tag -> [(step, value), ...]
    hparams: dict = field(default_factory=dict)  # name -> number, string or bool (None: left out)
    metrics: dict = field(default_factory=dict)  # tag -> final value (None or non-finite: left out)


def run_name(candidate: str, phase: str | None, lr: float, seed: int) -> str:
    return "/".join([candidate, *([phase] if phase else []), f"lr{lr:.3g}-seed{seed}"])


def _scalar(tag: str, value: float, step: int) -> Event:
    return Event(wall_time=float(step), step=int(step),
                 summary=Summary(value=[Summary.Value(tag=tag, simple_value=float(value))]))


def _hparams_summary(tag: str, **data) -> Summary:
    """An HParams plugin summary (session start or end), serialized deterministically (protobuf maps
    otherwise serialize in an order that changes between processes)."""
    content = plugin_data_pb2.HParamsPluginData(version=hparams_metadata.PLUGIN_DATA_VERSION, **data)
    metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(
        plugin_name=hparams_metadata.PLUGIN_NAME, content=content.SerializeToString(deterministic=True)))
    return Summary(value=[Summary.Value(tag=tag, metadata=metadata)])


def _session_start(hparams: dict) -> Summary:
    info = plugin_data_pb2.SessionStartInfo()
    for name, value in hparams.items():
        if isinstance(value, bool):
            info.hparams[name].bool_value = value
        elif isinstance(value, (int, float)):
            info.hparams[name].number_value = float(value)
        else:
            info.hparams[name].string_value = str(value)
    return _hparams_summary(hparams_metadata.SESSION_START_INFO_TAG, session_start_info=info)


def session_start(hparams: dict) -> Summary:
    """An HParams session start for any event writer (``writer.file_writer.add_summary``)."""
    return _session_start({k: v for k, v in sorted(hparams.items()) if v is not None})


def session_end() -> Summary:
    return _hparams_summary(hparams_metadata.SESSION_END_INFO_TAG, session_end_info=plugin_data_pb2.SessionEndInfo(
        status=api_pb2.STATUS_SUCCESS))


def encode(run: Run) -> bytes:
    """The bytes of the run's event file (deterministic: no clock, no host name, ordered maps)."""
    buffer = io.BytesIO()
    writer = RecordWriter(buffer)
    hparams = {k: v for k, v in sorted(run.hparams.items()) if v is not None}
    metrics = {k: float(v) for k, v in sorted(run.metrics.items()) if v is not None and math.isfinite(v)}
    start, end = _session_start(hparams), session_end()
    events = [Event(wall_time=0.0, file_version="brain.Event:2"), Event(wall_time=0.0, summary=start)]
    last = 0
    for tag, points in sorted(run.curves.items()):
        for step, value in points:
            if value is not None and math.isfinite(value):
                events.append(_scalar(tag, value, step))
                last = max(last, int(step))
    events += [_scalar(tag, value, last) for tag, value in metrics.items()]
    events.append(Event(wall_time=float(last), summary=end))
    for event in events:
        writer.write(event.SerializeToString(deterministic=True))
    return buffer.getvalue()


def write_runs(folder: Path, runs: list[Run], row_paths: list[Path] | None = None) -> list[Path]:
    """Write each run's event file under ``folder`` (only where its bytes changed) and remove this
    module's files of runs no longer listed (nothing else in ``folder`` is touched). ``row_paths``:
    each run's result-row file (named ``...-<configuration key>.json``); runs whose names collide
    (rows of an earlier benchmark definition beside the current ones) get ``-<key>`` appended, so
    every row stays a run."""
    if row_paths is not None:
        keys = [Path(p).stem.rsplit("-", 1)[-1] for p in row_paths]
        counts = {}
        for run in runs:
            counts[run.name] = counts.get(run.name, 0) + 1
        runs = [dataclasses.replace(run, name=f"{run.name}-{key}") if counts[run.name] > 1 else run
                for run, key in zip(runs, keys)]
    names = [run.name for run in runs]
    if len(set(names)) != len(names):
        raise ValueError(f"two TensorBoard runs share a name in {folder}: "
                         f"{sorted({n for n in names if names.count(n) > 1})}")
    written = []
    for run in runs:
        path = folder / run.name / FILE
        data = encode(run)
        if not path.exists() or path.read_bytes() != data:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, data)
        written.append(path)
    keep = set(written)
    for stale in folder.rglob(FILE) if folder.exists() else ():
        if stale not in keep:
            stale.unlink(missing_ok=True)  # another sweep of the benchmark may have removed it first
    return written
