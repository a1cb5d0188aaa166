"""Runs of killed jobs never stay RUNNING: the next run of the same job marks them KILLED and links to them; live
runs (of this or another workflow sharing the database) are never touched."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from perceptflow.tracking import TrackingSettings, init_tracking, reap_stale_runs, stage_run
from perceptflow.tracking.runs import HOST_TAG, OUTPUT_TAG, PID_TAG, RESUMES_TAG, process_alive

CHILD = """
import os, signal, sys, time
from perceptflow.tracking import TrackingSettings, stage_run
settings = TrackingSettings(experiment="unit", tracking_uri=sys.argv[1])
with stage_run(stage="train", rule="train_encoder", run_file=sys.argv[2], settings=settings) as run:
    run.log_metrics({"loss": 3.0}, step=1)
    if sys.argv[3] == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    open(sys.argv[3], "w").close()
    while os.path.exists(sys.argv[3]):
        time.sleep(0.05)
"""


@pytest.fixture(scope="module")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mlflow") / "template.db"
    init_tracking(TrackingSettings(experiment="unit", tracking_uri=f"sqlite:///{path}"))
    return path


@pytest.fixture()
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_db: Path) -> TrackingSettings:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    shutil.copy(migrated_db, tmp_path / "mlflow.db")
    return TrackingSettings(experiment="unit", tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")


def _runs(settings: TrackingSettings) -> dict[str, object]:
    client = MlflowClient(tracking_uri=settings.resolved_uri())
    experiment = client.get_experiment_by_name("unit")
    return {run.info.run_id: run for run in client.search_runs([experiment.experiment_id])}


def _child(settings: TrackingSettings, run_file: Path, mode: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD, settings.resolved_uri(), str(run_file), mode])


def test_sigkilled_job__rerun_marks_it_killed_links_it_and_keeps_the_history(
    settings: TrackingSettings, tmp_path: Path
) -> None:
    child = _child(settings, tmp_path / "run.json", "kill")
    assert child.wait(timeout=120) == -signal.SIGKILL
    (killed,) = _runs(settings).values()
    assert killed.info.status == "RUNNING" and killed.data.tags[PID_TAG] == str(child.pid)
    assert killed.data.tags[HOST_TAG] == socket.gethostname()
    assert killed.data.tags[OUTPUT_TAG] == str((tmp_path / "run.json").resolve())

    with stage_run(stage="train", rule="train_encoder", run_file=tmp_path / "run.json", settings=settings) as run:
        run.log_metrics({"loss": 2.0}, step=2)
        run.log_history([{"epoch": 1, "loss": 3.0}, {"epoch": 2, "loss": 2.0}])
    runs = _runs(settings)
    assert runs[killed.info.run_id].info.status == "KILLED"
    (resumed,) = (run for run_id, run in runs.items() if run_id != killed.info.run_id)
    assert resumed.info.status == "FINISHED" and resumed.data.tags[RESUMES_TAG] == killed.info.run_id
    client = MlflowClient(tracking_uri=settings.resolved_uri())
    history = client.get_metric_history(resumed.info.run_id, "loss")
    assert sorted((m.step, m.value) for m in history) == [(1, 3.0), (2, 2.0)], "the whole loss curve"


def test_live_runs_are_never_touched(settings: TrackingSettings, tmp_path: Path) -> None:
    """A live job of the same output (same host, PID alive) or of another workflow stays RUNNING."""
    marker = tmp_path / "running"
    child = _child(settings, tmp_path / "other" / "run.json", str(marker))
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None and time.monotonic() < deadline, "child ended early or stalled"
            time.sleep(0.05)
        (live,) = _runs(settings).values()
        experiment = live.info.experiment_id
        assert reap_stale_runs(settings, experiment) == []
        same_output = str((tmp_path / "other" / "run.json").resolve())
        assert reap_stale_runs(settings, experiment, rule="train_encoder", output=same_output) == []
        with stage_run(stage="train", rule="train_encoder", run_file=tmp_path / "run.json", settings=settings):
            pass
        assert _runs(settings)[live.info.run_id].info.status == "RUNNING"
    finally:
        marker.unlink(missing_ok=True)
        child.wait(timeout=120)
    assert _runs(settings)[live.info.run_id].info.status == "FINISHED"


def test_runs_of_other_hosts_are_reaped_only_when_their_output_is_rerun(
    settings: TrackingSettings, tmp_path: Path
) -> None:
    client = MlflowClient(tracking_uri=settings.resolved_uri())
    experiment = client.get_experiment_by_name("unit").experiment_id
    ids = {}
    for name in ("mine", "theirs"):
        output = str((tmp_path / name / "run.json").resolve())
        tags = {"perceptflow.rule": "extract_features", HOST_TAG: "node-elsewhere", PID_TAG: "1", OUTPUT_TAG: output}
        ids[name] = client.create_run(experiment, tags=tags).info.run_id
    assert reap_stale_runs(settings, experiment) == [], "another host's PIDs cannot be judged from here"
    mine = str((tmp_path / "mine" / "run.json").resolve())
    assert reap_stale_runs(settings, experiment, rule="extract_features", output=mine) == [ids["mine"]]
    assert client.get_run(ids["theirs"]).info.status == "RUNNING"


def test_process_alive_sees_dead_zombie_and_reused_pids() -> None:
    assert process_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 60
    while process_alive(child.pid) and time.monotonic() < deadline:  # a zombie until reaped: not alive
        time.sleep(0.05)
    assert not process_alive(child.pid)
    child.wait()
    assert not process_alive(child.pid)
    assert not process_alive(os.getpid(), start="0"), "same PID, other start time: a reused PID"
