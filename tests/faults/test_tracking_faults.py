"""Tracking under faults: concurrent workflows on a fresh SQLite database, SIGINT, two workflows in one folder."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from mlflow.tracking import MlflowClient
from snakefile_support import snakemake, write_workflow

HELPER = """
import sys
from perceptflow.tracking import TrackingSettings, stage_run
settings = TrackingSettings(experiment="faults", tracking_uri=sys.argv[1])
with stage_run(stage="train", rule="train_x", run_file=sys.argv[2], settings=settings) as run:
    run.log_metrics({"loss": 1.0}, step=1)
"""


def _statuses(uri: str) -> list[str]:
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("faults")
    return sorted(run.info.status for run in client.search_runs([experiment.experiment_id]))


def test_eight_processes_through_the_helper_on_a_fresh_database(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'fresh.db'}"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", HELPER, uri, str(tmp_path / f"run{i}.json")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(8)
    ]
    outputs = [child.communicate(timeout=600)[0] for child in children]
    failed = [out[-2000:] for child, out in zip(children, outputs, strict=True) if child.returncode != 0]
    assert failed == [], failed
    assert _statuses(uri) == ["FINISHED"] * 8


def test_eight_two_rule_workflows_on_a_fresh_database(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'shared.db'}"
    folders = [tmp_path / f"w{i}" for i in range(8)]
    for folder in folders:
        write_workflow(folder)
    runs = [snakemake(folder, uri) for folder in folders]
    outputs = [run.communicate(timeout=900)[0] for run in runs]
    failed = [out[-3000:] for run, out in zip(runs, outputs, strict=True) if run.returncode != 0]
    assert failed == [], failed
    assert _statuses(uri) == ["FINISHED"] * 16


def _running_rows(database: Path) -> int:
    """RUNNING runs in the database, read-only: a poller that created MLflow's schema would race the workflow's own
    (locked) creation of it, the fault `init_tracking` guards against, and fail the workflow it waits for."""
    if not database.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)) as connection:
            return connection.execute("SELECT COUNT(*) FROM runs WHERE status = 'RUNNING'").fetchone()[0]
    except sqlite3.OperationalError:  # the schema is being created
        return 0


def _wait_for_running(uri: str, workflow: subprocess.Popen, timeout: float = 300) -> None:
    database = Path(uri.removeprefix("sqlite:///"))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _running_rows(database):
            return
        if workflow.poll() is not None:
            raise AssertionError(f"the workflow ended before a run started:\n{workflow.communicate()[0][-3000:]}")
        time.sleep(0.5)
    raise AssertionError("no run started")


def test_sigint_of_the_workflow_leaves_no_run_running_and_a_rerun_completes(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    folder = tmp_path / "w"
    write_workflow(folder)
    first = snakemake(folder, uri, sleep=60)
    _wait_for_running(uri, first)
    first.send_signal(signal.SIGINT)
    interrupted_output = first.communicate(timeout=120)[0]
    assert first.returncode != 0, f"snakemake ended 0 after SIGINT:\n{interrupted_output[-3000:]}"
    # Snakemake ends or lets the running job end (KILLED or FINISHED), never leaving it RUNNING.
    (interrupted,) = _statuses(uri)
    assert interrupted in ("KILLED", "FINISHED")
    rerun = snakemake(folder, uri, "--rerun-incomplete")  # Snakemake's own guard against the half-written output
    output = rerun.communicate(timeout=600)[0]
    assert rerun.returncode == 0, output[-3000:]
    assert (folder / "b" / "run.json").is_file()
    assert "RUNNING" not in _statuses(uri) and len(_statuses(uri)) == 3


def test_two_workflows_in_one_folder__the_second_is_refused_and_the_first_finishes(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    folder = tmp_path / "w"
    write_workflow(folder)
    first = snakemake(folder, uri, sleep=15)
    _wait_for_running(uri, first)
    second = snakemake(folder, uri)
    second_output = second.communicate(timeout=600)[0]
    assert second.returncode != 0 and "cannot be locked" in second_output.lower(), second_output[-3000:]
    first_output = first.communicate(timeout=600)[0]
    assert first.returncode == 0, first_output[-3000:]
    assert (folder / "b" / "run.json").is_file()
    assert _statuses(uri) == ["FINISHED", "FINISHED"]
