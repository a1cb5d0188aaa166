"""The tiny workflow through snakemake-executor-plugin-slurm on a real SLURM cluster, logging to an MLflow server.

One local run and one SLURM run (profiles/slurm-small) of the same one-method config; the tests compare them.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
import zarr
from slurm_cluster import SlurmCluster
from workflow_support import ROOT, planned_jobs, run_snakemake, tiny_config

from perceptflow.tracking.server import TrackingServer

pytestmark = pytest.mark.slurm

SUBMITTED = re.compile(r"Job \d+ has been submitted with SLURM jobid (\d+) \(log: ([^)]*)\)")
#: Outputs compared byte for byte between the local and the SLURM run.
SAME_FILES = [
    "results/distort/manifest.csv",
    "results/regress/synthetic/splits.json",
    "results/evaluate/baselines/synthetic/fr_scores.csv",
]
#: Downstream of the ridge: its Gram matrices are BLAS products whose rounding follows the job's thread count
#: (1 locally, 2 in profiles/slurm-small), so predictions agree to ~1e-14, not bytewise (docs/clusters.md); the
#: logistic PLCC's iterative fit turns that into ~1e-7. Rank correlations (SRCC, KRCC) stay exactly equal.
PREDICTIONS = [
    "results/regress/synthetic/contrique/predictions.csv",
    "results/regress/synthetic/random_init/predictions.csv",
]
SUMMARIES = ["results/report/summary.csv"]
METRICS = ["results/evaluate/contrique/synthetic/metrics.json"]


@dataclass
class Runs:
    local: Path
    cluster: Path
    config_path: Path
    planned: dict[str, int]
    output: str
    seconds: float


def one_method_config() -> dict:
    """The workflow tests' tiny config with one method, no DPS: 16 jobs (12 + four `export_metric`)."""
    config = tiny_config(None)
    config["train"]["methods"] = ["contrique"]
    config["train"].pop("overrides")
    config["distort"]["dps"]["enabled"] = False
    config["adapt_dps"]["enabled"] = False
    return config


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory: pytest.TempPathFactory, slurm_cluster: SlurmCluster, tracking_server: TrackingServer
) -> Runs:
    root = tmp_path_factory.mktemp("slurm-workflow")
    config_path = root / "tiny.yaml"
    config_path.write_text(yaml.safe_dump(one_method_config(), sort_keys=False))
    local, cluster = root / "local", root / "cluster"
    local.mkdir()
    cluster.mkdir()
    local_result = run_snakemake(local, config_path, "--cores", "2")
    start = time.perf_counter()
    result = run_snakemake(
        cluster,
        config_path,
        *("--workflow-profile", str(ROOT / "profiles" / "slurm-small")),
        env={"MLFLOW_TRACKING_URI": tracking_server.url, **slurm_cluster.env},
    )
    seconds = time.perf_counter() - start
    print(f"SLURM run: {seconds:.0f} s")
    planned = {rule: n for rule, n in planned_jobs(local_result).items() if rule != "all"}
    return Runs(local, cluster, config_path, planned, result.stdout + result.stderr, seconds)


def test_every_rule_ran_as_a_slurm_job(runs: Runs, slurm_cluster: SlurmCluster) -> None:
    submitted = SUBMITTED.findall(runs.output)
    rules: dict[str, int] = {}
    for _, log in submitted:
        rule = re.search(r"/rule_(\w+?)/", log)
        assert rule, log
        rules[rule.group(1)] = rules.get(rule.group(1), 0) + 1
    assert rules == runs.planned and sum(rules.values()) == 16  # 12 jobs + export_metric: fr, synthetic, x 2 encoders
    run_id = re.search(r"SLURM run ID: (\S+)", runs.output)
    assert run_id
    records = slurm_cluster.completed_jobs()  # the controller's job completion log
    for job_id, _ in submitted:
        record = records[job_id]
        assert record["JobState"] == "COMPLETED" and record["NodeList"] == "localhost", record
        assert record["Name"] == run_id.group(1) and record["Partition"] == "cpu"
        assert int(record["ProcCnt"]) <= 2  # max-threads: 2 in profiles/slurm-small
    assert slurm_cluster.queue() == []


def _flat(value: object, prefix: str = "") -> dict[str, object]:
    """A JSON document as ``{path: leaf}`` (numbers compared approximately, everything else exactly)."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _flat(item, f"{prefix}/{key}").items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in _flat(item, f"{prefix}/{i}").items()}
    return {prefix: value}


def test_outputs_equal_a_local_run(runs: Runs) -> None:
    for path in SAME_FILES:
        assert (runs.cluster / path).read_bytes() == (runs.local / path).read_bytes(), path
    for path in PREDICTIONS:
        cluster, local = pd.read_csv(runs.cluster / path), pd.read_csv(runs.local / path)
        pd.testing.assert_frame_equal(cluster, local, check_exact=False, rtol=1e-10, atol=1e-12, obj=path)
    for path in SUMMARIES:
        cluster, local = pd.read_csv(runs.cluster / path), pd.read_csv(runs.local / path)
        pd.testing.assert_frame_equal(cluster, local, check_exact=False, rtol=1e-5, atol=1e-8, obj=path)
        for column in ("srcc", "krcc"):
            pd.testing.assert_series_equal(cluster[column], local[column], check_exact=True, obj=path)
    for path in METRICS:
        cluster, local = (_flat(json.loads((root / path).read_text())) for root in (runs.cluster, runs.local))
        assert cluster.keys() == local.keys(), path
        close = [k for k, v in local.items() if isinstance(v, float) and not k.endswith(("srcc", "krcc"))]
        assert {k: v for k, v in cluster.items() if k not in close} == {
            k: v for k, v in local.items() if k not in close
        }, path
        expected = pytest.approx([local[k] for k in close], rel=1e-5, abs=1e-8, nan_ok=True)
        assert [cluster[k] for k in close] == expected, path
    for encoder in ("contrique", "random_init"):
        store = f"results/extract/{encoder}/synthetic.zarr"
        local = zarr.open_group(str(runs.local / store), mode="r")["features"][:]
        cluster = zarr.open_group(str(runs.cluster / store), mode="r")["features"][:]
        np.testing.assert_array_equal(cluster, local)


def test_mlflow_runs_finished_on_the_server_with_lineage(runs: Runs, tracking_server: TrackingServer) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_server.url)
    experiment = client.get_experiment_by_name("perceptflow")
    found = client.search_runs([experiment.experiment_id], max_results=1000)
    by_id = {run.info.run_id: run for run in found}
    records = {path: json.loads(path.read_text()) for path in runs.cluster.glob("results/**/*mlflow_run.json")}
    assert {record["run_id"] for record in records.values()} <= set(by_id)
    ours = [by_id[record["run_id"]] for path, record in records.items() if not path.name.startswith("parent_")]
    assert len(ours) == sum(runs.planned.values())  # one run per job, plus the report's parent run
    assert {by_id[record["run_id"]].info.status for record in records.values()} == {"FINISHED"}
    assert len({run.data.tags["perceptflow.execution_id"] for run in ours}) == 1
    for run in ours:
        for tag, value in run.data.tags.items():
            if tag.startswith("perceptflow.upstream."):
                for upstream in value.split(","):
                    assert by_id[upstream].data.tags["perceptflow.stage"] == tag.rsplit(".", 1)[1]
    evaluate = next(run for run in ours if run.data.tags["perceptflow.rule"] == "evaluate_metrics")
    assert len(evaluate.data.tags["perceptflow.upstream.regress"].split(",")) >= 2


def test_second_dry_run_plans_nothing(runs: Runs, slurm_cluster: SlurmCluster) -> None:
    again = run_snakemake(
        runs.cluster, runs.config_path, "-n", *("--workflow-profile", str(ROOT / "profiles" / "slurm-small"))
    )
    assert planned_jobs(again) == {}, again.stdout[-2000:]
    assert planned_jobs(run_snakemake(runs.cluster, runs.config_path, "-n", "--cores", "2")) == {}


def test_daemons_stop_by_pid(runs: Runs, slurm_cluster: SlurmCluster) -> None:
    pids = [process.pid for process in slurm_cluster.processes.values()]
    assert len(pids) == 3
    slurm_cluster.stop()
    assert sorted(slurm_cluster.stopped_pids) == sorted(pids)
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()]
