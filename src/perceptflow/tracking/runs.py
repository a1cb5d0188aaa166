"""One MLflow run per rule execution.

Each run gets the stage's params, per-epoch and evaluation metrics, small artifacts, and tags for the stage, the
workflow-execution id and the run ids of upstream stages. The run id is written to a small JSON file that the rule
declares as an output, so lineage follows the Snakemake DAG and survives partial reruns. A run ends FINISHED, FAILED
or KILLED (on SIGTERM/SIGINT). A job killed outright (SIGKILL, the OOM killer) cannot end its run; each run therefore
records its host, PID and output, and the next run of the same rule and output marks it KILLED (`reap_stale_runs`)
and links to it. A SQLite database is created under a file lock, so workflows sharing a fresh one start safely.
"""

# Over 300 lines: a run's start, end, kill handling and stale-run reaping share one record of host, PID and output.

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perceptflow.types import PathLikeStr

log = logging.getLogger(__name__)

#: The stage tag values; every rule name starts with one of them.
STAGES = ("distort", "train", "extract", "regress", "evaluate", "report", "adapt_dps", "export")
EXECUTION_ID_ENV = "PERCEPTFLOW_EXECUTION_ID"
DEFAULT_TRACKING_URI = "sqlite:///results/mlflow.db"
#: Tags that let a later job tell whether a RUNNING run's process is gone (`reap_stale_runs`).
HOST_TAG, PID_TAG, PROCESS_START_TAG = "perceptflow.host", "perceptflow.pid", "perceptflow.process_start"
#: The run file's absolute path: the output that identifies "the same job" across reruns.
OUTPUT_TAG = "perceptflow.output"
#: On a run that replaces killed runs of its job: their run ids, comma-separated.
RESUMES_TAG = "perceptflow.resumes"


@dataclass(frozen=True)
class TrackingSettings:
    """Where runs go. Built from the config's ``mlflow`` section; never a rerun trigger."""

    experiment: str = "perceptflow"
    tracking_uri: str | None = None
    enabled: bool = True

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | None) -> TrackingSettings:
        """Settings from the config's ``mlflow`` section (None: defaults)."""
        section = dict(section or {})
        return cls(
            experiment=str(section.get("experiment", "perceptflow")),
            tracking_uri=section.get("tracking_uri"),
            enabled=bool(section.get("enabled", True)),
        )

    def resolved_uri(self) -> str:
        """``MLFLOW_TRACKING_URI`` when set, else the configured URI, else a SQLite file under ``results/``.

        Relative SQLite paths are made absolute against the working directory, so every job agrees.
        """
        uri = os.environ.get("MLFLOW_TRACKING_URI") or self.tracking_uri or DEFAULT_TRACKING_URI
        prefix = "sqlite:///"
        if uri.startswith(prefix) and not uri[len(prefix) :].startswith("/"):
            uri = prefix + str(Path(uri[len(prefix) :]).resolve())
        return uri

    def artifact_root(self) -> str | None:
        """Artifact folder beside a SQLite database (``mlartifacts``); None lets a server decide."""
        uri = self.resolved_uri()
        if uri.startswith("sqlite:///"):
            return (Path(uri[len("sqlite:///") :]).parent / "mlartifacts").resolve().as_uri()
        return None


def init_tracking(settings: TrackingSettings) -> str | None:
    """Create the tracking database and the experiment once, before jobs run in parallel.

    A SQLite database is created under a file lock beside it (``<db>.lock``): processes of several workflows that
    share a fresh database would otherwise race on its schema ("table ... already exists"). Returns the experiment
    id (None when tracking is disabled). Idempotent.
    """
    if not settings.enabled:
        return None
    from filelock import FileLock
    from mlflow.tracking import MlflowClient

    uri = settings.resolved_uri()
    lock: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if uri.startswith("sqlite:///"):
        database = Path(uri[len("sqlite:///") :])
        database.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(f"{database}.lock", timeout=600)
    with lock:
        client = MlflowClient(tracking_uri=uri)
        experiment = client.get_experiment_by_name(settings.experiment)
        if experiment is not None:
            return experiment.experiment_id
        return client.create_experiment(settings.experiment, artifact_location=settings.artifact_root())


def process_start(pid: int) -> str | None:
    """Start time of process ``pid`` in clock ticks since boot (Linux ``/proc``), None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22; the command name before ")" may hold spaces


def process_alive(pid: int, start: str | None = None) -> bool:
    """Whether process ``pid`` on this host runs (a zombie or a reused PID with another start time does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        pass
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        if stat[0] == "Z":
            return False
    current = process_start(pid)
    return not (start and current and current != start)


def _is_gone(tags: Mapping[str, str], same_output: bool) -> bool:
    """Whether the process of a RUNNING run is gone: on this host, its PID is dead; on another host (or with no
    host recorded), only when this job reruns its output (Snakemake's directory lock lets no two live workflows
    write one output, so the earlier job is over)."""
    host, pid = tags.get(HOST_TAG), tags.get(PID_TAG)
    if host == socket.gethostname() and pid and pid.isdigit():
        return not process_alive(int(pid), tags.get(PROCESS_START_TAG))
    return same_output


def reap_stale_runs(
    settings: TrackingSettings, experiment_id: str, *, rule: str | None = None, output: str | None = None
) -> list[str]:
    """Mark KILLED the RUNNING runs whose process is gone; returns their ids.

    With ``rule`` and ``output`` (the run file's absolute path), the runs of that job: on this host when their PID
    is dead, on another host always (this job reruns their output). Without them, every run recorded on this host
    whose PID is dead. A live run, of this workflow or another sharing the database, is never touched.
    """
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=settings.resolved_uri())
    query = "attributes.status = 'RUNNING'"
    if rule is not None:
        query += f" and tags.`perceptflow.rule` = '{rule}'"
    reaped = []
    for run in client.search_runs([experiment_id], filter_string=query, max_results=1000):
        tags = run.data.tags
        same_output = output is not None and tags.get(OUTPUT_TAG) == output
        if output is not None and not same_output:
            continue
        if _is_gone(tags, same_output):
            client.set_tag(run.info.run_id, "perceptflow.ended_by", f"reaped: process gone ({socket.gethostname()})")
            client.set_terminated(run.info.run_id, status="KILLED")
            log.warning("marked MLflow run %s (%s) KILLED: its process is gone", run.info.run_id, run.info.run_name)
            reaped.append(run.info.run_id)
    return reaped


def read_run_ids(run_files: Sequence[PathLikeStr]) -> dict[str, list[str]]:
    """Upstream run ids by stage, read from the run files of upstream rules."""
    by_stage: dict[str, list[str]] = {}
    for path in run_files:
        record = json.loads(Path(path).read_text())
        if record.get("run_id"):
            by_stage.setdefault(record["stage"], []).append(record["run_id"])
    return by_stage


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested dicts to dotted keys (``{"a": {"b": 1}} -> {"a.b": 1}``) for MLflow params."""
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, prefix=f"{name}."))
        else:
            flat[name] = value
    return flat


class StageRun:
    """Handle to the active MLflow run of one rule execution (a no-op when tracking is disabled)."""

    def __init__(self, run_id: str | None) -> None:
        self.run_id = run_id
        self.steps: set[int] = set()

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log the finite values of ``metrics`` (at ``step``); nothing when tracking is off."""
        if step is not None:
            self.steps.add(step)
        if self.run_id is None:
            return
        import mlflow

        finite = {k: float(v) for k, v in metrics.items() if v is not None and v == v}
        mlflow.log_metrics(finite, step=step)

    def log_history(self, history: Sequence[Mapping[str, Any]]) -> None:
        """Log the rows of a training history not logged yet, at their ``epoch``: a run that resumed from a
        checkpoint then holds the whole loss curve, the epochs of the killed run included."""
        for row in history:
            if int(row["epoch"]) not in self.steps:
                self.log_metrics({k: v for k, v in row.items() if isinstance(v, int | float)}, step=int(row["epoch"]))

    def log_artifact(self, path: PathLikeStr, artifact_path: str | None = None) -> None:
        """Copy ``path`` into the run's artifacts; nothing when tracking is off."""
        if self.run_id is None:
            return
        import mlflow

        mlflow.log_artifact(str(path), artifact_path=artifact_path)

    def log_store_reference(self, name: str, path: PathLikeStr, info: Mapping[str, Any]) -> None:
        """Reference a Zarr store (path, shape, attributes) without copying it."""
        if self.run_id is None:
            return
        import mlflow

        mlflow.set_tag(f"perceptflow.store.{name}", str(Path(path).resolve()))
        mlflow.log_dict(dict(info), f"stores/{name}.json")

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set run tags (values as strings); nothing when tracking is off."""
        if self.run_id is None:
            return
        import mlflow

        mlflow.set_tags({k: str(v) for k, v in tags.items()})


class _Killed(BaseException):
    """Raised from a signal handler so the run can be closed as KILLED."""


@contextlib.contextmanager
def _killed_on_signals() -> Iterator[None]:
    def handler(signum: int, _frame: object) -> None:
        raise _Killed(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def _fluent_tracking_uri(uri: str | None) -> Iterator[None]:
    """Point MLflow's fluent API at ``uri`` for one run, then restore the previous URI.

    ``mlflow.set_tracking_uri`` also writes ``MLFLOW_TRACKING_URI`` into the environment, which would otherwise
    override the configured URI of any later run in the same process.
    """
    if uri is None:
        yield
        return
    import mlflow

    previous = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)  # type: ignore[arg-type]  # None restores the default and drops the env var


@contextlib.contextmanager
def stage_run(
    *,
    stage: str,
    rule: str,
    run_file: PathLikeStr,
    settings: TrackingSettings,
    params: Mapping[str, Any] | None = None,
    upstream_run_files: Sequence[PathLikeStr] = (),
    wildcards: Mapping[str, str] | None = None,
) -> Iterator[StageRun]:
    """Open the MLflow run of one rule execution and write its run file on success.

    Args:
        stage: one of :data:`STAGES` (the ``perceptflow.stage`` tag).
        rule: the Snakemake rule name; must start with ``stage``.
        run_file: JSON output recording the run id, read by downstream rules for lineage.
        settings: tracking settings (experiment, URI, enabled).
        params: the rule's params, logged flattened.
        upstream_run_files: run files of upstream rules; their ids become ``perceptflow.upstream.<stage>`` tags.
        wildcards: the job's wildcards, recorded as tags and in the run name.
    """
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; valid: {STAGES}")
    if not rule.startswith(stage):
        raise ValueError(f"rule {rule!r} must start with its stage {stage!r}")
    wildcards = dict(wildcards or {})
    run_name = ":".join([rule, *wildcards.values()])
    run_id = None
    with _fluent_tracking_uri(settings.resolved_uri() if settings.enabled else None):
        if settings.enabled:
            run_id = _start(stage, rule, run_name, settings, params or {}, upstream_run_files, wildcards, run_file)
        status = "FAILED"
        try:
            with _killed_on_signals():
                yield StageRun(run_id)
            status = "FINISHED"
        except _Killed:
            status = "KILLED"
            raise
        finally:
            if run_id is not None:
                import mlflow

                mlflow.end_run(status=status)
    _write_run_file(run_file, stage=stage, rule=rule, run_id=run_id, settings=settings, wildcards=wildcards)


def _start(
    stage: str,
    rule: str,
    run_name: str,
    settings: TrackingSettings,
    params: Mapping[str, Any],
    upstream_run_files: Sequence[PathLikeStr],
    wildcards: Mapping[str, str],
    run_file: PathLikeStr,
) -> str:
    import mlflow

    experiment_id = init_tracking(settings)
    assert experiment_id is not None  # tracking is enabled here
    output = str(Path(run_file).resolve())
    reaped = reap_stale_runs(settings, experiment_id, rule=rule, output=output)
    tags = {
        "perceptflow.stage": stage,
        "perceptflow.rule": rule,
        "perceptflow.execution_id": os.environ.get(EXECUTION_ID_ENV, "interactive"),
        HOST_TAG: socket.gethostname(),
        PID_TAG: str(os.getpid()),
        PROCESS_START_TAG: process_start(os.getpid()) or "",
        OUTPUT_TAG: output,
        **({RESUMES_TAG: ",".join(reaped)} if reaped else {}),
        **{f"perceptflow.wildcard.{k}": v for k, v in wildcards.items()},
    }
    for upstream_stage, ids in read_run_ids(upstream_run_files).items():
        tags[f"perceptflow.upstream.{upstream_stage}"] = ",".join(ids)
    # MLFLOW_RUN_ID in the environment would make start_run resume an unrelated run (mlflow#15713).
    os.environ.pop("MLFLOW_RUN_ID", None)
    run = mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=tags)
    flat = {k: json.dumps(v) if isinstance(v, list | tuple) else v for k, v in flatten(params).items()}
    if flat:
        mlflow.log_params(flat)
    return run.info.run_id


def _write_run_file(
    path: PathLikeStr,
    *,
    stage: str,
    rule: str,
    run_id: str | None,
    settings: TrackingSettings,
    wildcards: Mapping[str, str],
) -> None:
    record = {
        "stage": stage,
        "rule": rule,
        "run_id": run_id,
        "experiment": settings.experiment if settings.enabled else None,
        "wildcards": dict(wildcards),
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(record, indent=2) + "\n")
