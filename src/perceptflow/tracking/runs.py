"""One MLflow run per rule execution.

Each run gets the stage's params, per-epoch and evaluation metrics, small artifacts, and tags for the stage, the
workflow-execution id and the run ids of upstream stages. The run id is written to a small JSON file that the rule
declares as an output, so lineage follows the Snakemake DAG and survives partial reruns. A run always ends
FINISHED, FAILED or KILLED (on SIGTERM/SIGINT), never RUNNING.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perceptflow.types import PathLikeStr

log = logging.getLogger(__name__)

#: The stage tag values; every rule name starts with one of them.
STAGES = ("distort", "train", "extract", "regress", "evaluate", "report", "adapt_dps")
EXECUTION_ID_ENV = "PERCEPTFLOW_EXECUTION_ID"
DEFAULT_TRACKING_URI = "sqlite:///results/mlflow.db"


@dataclass(frozen=True)
class TrackingSettings:
    """Where runs go. Built from the config's ``mlflow`` section; never a rerun trigger."""

    experiment: str = "perceptflow"
    tracking_uri: str | None = None
    enabled: bool = True

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | None) -> TrackingSettings:
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

    Returns the experiment id (None when tracking is disabled). Idempotent.
    """
    if not settings.enabled:
        return None
    from mlflow.tracking import MlflowClient

    uri = settings.resolved_uri()
    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(settings.experiment)
    if experiment is not None:
        return experiment.experiment_id
    return client.create_experiment(settings.experiment, artifact_location=settings.artifact_root())


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

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        if self.run_id is None:
            return
        import mlflow

        finite = {k: float(v) for k, v in metrics.items() if v is not None and v == v}
        mlflow.log_metrics(finite, step=step)

    def log_artifact(self, path: PathLikeStr, artifact_path: str | None = None) -> None:
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
        mlflow.set_tracking_uri(previous)


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
            run_id = _start(stage, rule, run_name, settings, params or {}, upstream_run_files, wildcards)
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
) -> str:
    import mlflow

    experiment_id = init_tracking(settings)
    tags = {
        "perceptflow.stage": stage,
        "perceptflow.rule": rule,
        "perceptflow.execution_id": os.environ.get(EXECUTION_ID_ENV, "interactive"),
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
