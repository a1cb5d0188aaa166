"""A tracking server that is down stops the workflow with one message before any job starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from perceptflow.tracking.server import ServerSettings, TrackingServerError, free_port, require_reachable

ROOT = Path(__file__).resolve().parents[2]


def test_unreachable_server_names_the_uri_and_the_fix() -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(
        TrackingServerError, match=rf"MLflow tracking server {uri} is unreachable .*MLFLOW_TRACKING_URI"
    ):
        require_reachable(uri, timeout=2)


def test_files_and_sqlite_need_no_server() -> None:
    require_reachable("sqlite:////nonexistent/mlflow.db")
    require_reachable("file:///nonexistent")


def test_server_is_opt_in_from_config_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PERCEPTFLOW_MLFLOW_SERVER", raising=False)
    assert not ServerSettings.from_config(None).enabled
    assert ServerSettings.from_config({"enabled": True, "port": 5001}).port == 5001
    monkeypatch.setenv("PERCEPTFLOW_MLFLOW_SERVER", "1")
    assert ServerSettings.from_config({}).enabled


@pytest.mark.slow
def test_workflow_with_a_down_server_stops_before_any_job(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    config_path = ROOT / "config.yaml"  # the demo: nothing of it may run
    uri = f"http://127.0.0.1:{free_port()}"
    command = [str(Path(sys.executable).parent / "snakemake"), "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path)]
    result = subprocess.run(
        [*command, "--configfile", str(config_path), "--cores", "1"],
        capture_output=True,
        text=True,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}, "MLFLOW_TRACKING_URI": uri},
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert output.count(f"MLflow tracking server {uri} is unreachable") == 1, output[-3000:]
    assert "Traceback" not in output
    assert not (tmp_path / "results").exists() and not (tmp_path / "logs").exists(), "a job started"
