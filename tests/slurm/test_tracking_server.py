"""MLflow for teams: many workflows logging to one tracking server, and the server a workflow starts for itself."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from test_cluster_workflow import one_method_config
from workflow_support import run_snakemake

from perceptflow.tracking.server import TrackingServer, free_port, require_reachable

pytestmark = pytest.mark.slurm

TWO_RULES = "results/regress/synthetic/splits.json"  # distort_references -> regress_splits


def _run_files(workdir: Path) -> dict[str, dict]:
    paths = workdir.glob("results/**/*mlflow_run.json")
    return {str(path.relative_to(workdir)): json.loads(path.read_text()) for path in paths}


def test_eight_concurrent_workflows_on_one_server(tmp_path: Path, tracking_server: TrackingServer) -> None:
    from mlflow.tracking import MlflowClient

    config_path = tmp_path / "tiny.yaml"
    config_path.write_text(yaml.safe_dump(one_method_config(), sort_keys=False))
    workdirs = [tmp_path / f"run{i}" for i in range(8)]
    for workdir in workdirs:
        workdir.mkdir()

    def run(workdir: Path) -> int:
        env = {"MLFLOW_TRACKING_URI": tracking_server.url}
        return run_snakemake(workdir, config_path, "--cores", "1", TWO_RULES, env=env, check=False).returncode

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(run, workdirs))
    assert codes == [0] * 8
    client = MlflowClient(tracking_uri=tracking_server.url)
    executions = set()
    for workdir in workdirs:
        records = _run_files(workdir)
        distort = records["results/distort/mlflow_run.json"]
        splits = records["results/regress/synthetic/splits.mlflow_run.json"]
        runs = {key: client.get_run(record["run_id"]) for key, record in (("distort", distort), ("splits", splits))}
        assert {run.info.status for run in runs.values()} == {"FINISHED"}
        assert runs["splits"].data.tags["perceptflow.upstream.distort"] == distort["run_id"]
        execution = {run.data.tags["perceptflow.execution_id"] for run in runs.values()}
        assert len(execution) == 1
        executions |= execution
    assert len(executions) == 8


def test_workflow_starts_and_stops_its_own_server(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    config = one_method_config()
    port = free_port()
    config["mlflow"] = {"server": {"enabled": True, "port": port}}
    config_path = tmp_path / "tiny.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    run_snakemake(tmp_path, config_path, "--cores", "1", "results/distort/manifest.csv")
    record = _run_files(tmp_path)["results/distort/mlflow_run.json"]
    with pytest.raises(RuntimeError, match="unreachable"):  # stopped when snakemake exited
        require_reachable(f"http://127.0.0.1:{port}", timeout=2)
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'results' / 'mlflow-server.db'}")
    assert client.get_run(record["run_id"]).info.status == "FINISHED"
    assert (tmp_path / "results" / "mlartifacts").is_dir()
