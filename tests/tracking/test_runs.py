"""MLflow stage runs: statuses, run files, lineage tags, URI precedence."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from perceptflow.tracking import TrackingSettings, init_tracking, stage_run
from perceptflow.tracking.runs import flatten


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with MLflow's schema and the experiment; creating one costs seconds, copying it does not."""
    path = tmp_path_factory.mktemp("mlflow") / "template.db"
    init_tracking(TrackingSettings(experiment="unit", tracking_uri=f"sqlite:///{path}"))
    return path


@pytest.fixture()
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_db: Path) -> TrackingSettings:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("PERCEPTFLOW_EXECUTION_ID", "exec-1")
    shutil.copy(migrated_db, tmp_path / "mlflow.db")
    return TrackingSettings(experiment="unit", tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")


def runs_of(settings: TrackingSettings) -> list:
    client = MlflowClient(tracking_uri=settings.resolved_uri())
    experiment = client.get_experiment_by_name("unit")
    return client.search_runs([experiment.experiment_id])


def test_run_finishes_and_records_params_metrics_lineage(settings: TrackingSettings, tmp_path: Path) -> None:
    upstream = tmp_path / "up.json"
    upstream.write_text(json.dumps({"stage": "distort", "run_id": "abc123"}))
    with stage_run(
        stage="train",
        rule="train_encoder",
        run_file=tmp_path / "run.json",
        settings=settings,
        params={"train": {"lr": 0.1, "types": [1, 2]}},
        upstream_run_files=[upstream],
        wildcards={"method": "contrique"},
    ) as run:
        run.log_metrics({"loss": 2.0}, step=1)
        run.log_metrics({"loss": 1.0}, step=2)
    (only,) = runs_of(settings)
    assert only.info.status == "FINISHED"
    assert only.info.run_name == "train_encoder:contrique"
    assert only.data.params == {"train.lr": "0.1", "train.types": "[1, 2]"}
    assert only.data.tags["perceptflow.stage"] == "train"
    assert only.data.tags["perceptflow.upstream.distort"] == "abc123"
    assert only.data.tags["perceptflow.execution_id"] == "exec-1"
    assert only.data.metrics["loss"] == 1.0
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["run_id"] == only.info.run_id and record["stage"] == "train"


def test_failure_ends_run_failed_and_writes_no_run_file(settings: TrackingSettings, tmp_path: Path) -> None:
    with (
        pytest.raises(RuntimeError, match="boom"),
        stage_run(stage="regress", rule="regress_ridge", run_file=tmp_path / "run.json", settings=settings),
    ):
        raise RuntimeError("boom")
    assert [r.info.status for r in runs_of(settings)] == ["FAILED"]
    assert not (tmp_path / "run.json").exists()


def test_sigterm_ends_run_killed(settings: TrackingSettings, tmp_path: Path) -> None:
    with (
        pytest.raises(BaseException, match="SIGTERM"),
        stage_run(stage="train", rule="train_encoder", run_file=tmp_path / "run.json", settings=settings),
    ):
        os.kill(os.getpid(), signal.SIGTERM)
    assert [r.info.status for r in runs_of(settings)] == ["KILLED"]


def test_stage_and_rule_names_are_checked(settings: TrackingSettings, tmp_path: Path) -> None:
    with (
        pytest.raises(ValueError, match="unknown stage"),
        stage_run(stage="fit", rule="fit_x", run_file=tmp_path / "r.json", settings=settings),
    ):
        pass
    with (
        pytest.raises(ValueError, match="must start with its stage"),
        stage_run(stage="train", rule="extract_features", run_file=tmp_path / "r.json", settings=settings),
    ):
        pass


def test_disabled_tracking_still_writes_the_run_file(tmp_path: Path) -> None:
    settings = TrackingSettings(enabled=False)
    with stage_run(stage="report", rule="report_summary", run_file=tmp_path / "run.json", settings=settings) as run:
        run.log_metrics({"x": 1.0})
    assert json.loads((tmp_path / "run.json").read_text())["run_id"] is None
    assert init_tracking(settings) is None


def test_uri_precedence_env_then_config_then_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert TrackingSettings().resolved_uri() == f"sqlite:///{tmp_path / 'results' / 'mlflow.db'}"
    assert TrackingSettings(tracking_uri="http://host:5000").resolved_uri() == "http://host:5000"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://other:1")
    assert TrackingSettings(tracking_uri="http://host:5000").resolved_uri() == "http://other:1"


def test_init_is_idempotent(settings: TrackingSettings) -> None:
    assert init_tracking(settings) == init_tracking(settings)


def test_flatten_nested_params() -> None:
    assert flatten({"a": {"b": 1, "c": {"d": 2}}, "e": 3}) == {"a.b": 1, "a.c.d": 2, "e": 3}


def test_runs_with_different_uris_in_one_process_stay_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_db: Path
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    for name in ("a", "b"):
        shutil.copy(migrated_db, tmp_path / f"{name}.db")
        settings = TrackingSettings(experiment="unit", tracking_uri=f"sqlite:///{tmp_path / name}.db")
        with stage_run(stage="report", rule="report_x", run_file=tmp_path / f"{name}.json", settings=settings):
            pass
        assert len(runs_of(settings)) == 1
    assert "MLFLOW_TRACKING_URI" not in os.environ
