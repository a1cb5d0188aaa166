"""Integration: the workflow on a tiny config, its outputs, its MLflow runs and what reruns after a change."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import zarr
from workflow_support import (
    TINY_METHODS,
    WorkflowRun,
    assert_rules_ran_only_hashed_code,
    edited_package,
    pending_outputs,
    planned_jobs,
)

pytestmark = pytest.mark.slow

STAGES = {"distort", "train", "extract", "regress", "evaluate", "report", "adapt_dps", "export"}


def test_distort_manifest_says_what_was_made(workflow_run: WorkflowRun) -> None:
    manifest = pd.read_csv(workflow_run.workdir / "results/distort/manifest.csv")
    n_refs, n_types, n_levels = 6, 3, 3
    assert len(manifest) == n_refs * (1 + n_types * n_levels)
    assert {"image_id", "ref_id", "dist_type", "level", "seed", "path", "class_label", "param_value"} <= set(manifest)
    assert manifest["image_id"].is_unique
    distorted = manifest[manifest["dist_type"] != "pristine"]
    assert set(distorted["level"]) == {1, 3, 5}
    assert (manifest.loc[manifest["dist_type"] == "pristine", "class_label"] == 0).all()
    for path in manifest["path"]:
        assert (workflow_run.workdir / "results/distort" / path).is_file()


def test_train_writes_loadable_encoder_and_loss_falls(workflow_run: WorkflowRun) -> None:
    payload = torch.load(workflow_run.workdir / "results/train/contrique/encoder.pt", weights_only=True)
    assert payload["arch"] == "resnet18" and payload["method"] == "contrique"
    history = pd.read_csv(workflow_run.workdir / "results/train/contrique/history.csv")
    assert list(history["epoch"]) == [1, 2, 3, 4]
    assert history["loss"].iloc[-1] < history["loss"].iloc[0]
    assert len(list((workflow_run.workdir / "results/checkpoints/contrique").glob("*/last.pt"))) == 1


def test_extract_writes_chunked_zarr_stores(workflow_run: WorkflowRun) -> None:
    for encoder in ("contrique", "random_init"):
        group = zarr.open_group(str(workflow_run.workdir / f"results/extract/{encoder}/synthetic.zarr"), mode="r")
        features = group["features"]
        assert features.shape == (6 * 9, 2 * 512) and features.dtype == np.float32
        assert features.chunks[1] == 1024
        assert group["image_id"].shape == (features.shape[0],)
        values = features[:]
        np.testing.assert_allclose(np.linalg.norm(values[:, :512], axis=1), 1.0, rtol=1e-4)
        assert group.attrs["encoder"]["arch"] == "resnet18"
        assert group.attrs["dataset"] == "synthetic"
        assert group.attrs["config"]["extract"] == {"batch_size": 32, "fr_layers": ["layer1", "layer2", "layer3"]}
        lpips = group["fr/lpips"][:]  # the LPIPS-style distance of each image to its reference
        assert lpips.shape == (features.shape[0],) and np.isfinite(lpips).all()


def test_regress_keeps_predictions_per_split(workflow_run: WorkflowRun) -> None:
    predictions = pd.read_csv(workflow_run.workdir / "results/regress/synthetic/contrique/predictions.csv")
    assert set(predictions["split"]) == {0, 1, 2}
    assert set(predictions["subset"]) == {"train", "val", "test"}
    table = pd.read_csv(workflow_run.workdir / "results/regress/synthetic/table.csv")
    for _, split in predictions.groupby("split"):
        refs = {s: set(table.loc[rows["row"], "ref_id"]) for s, rows in split.groupby("subset")}
        assert not refs["train"] & refs["test"] and not refs["train"] & refs["val"] and not refs["val"] & refs["test"]


def test_metrics_carry_baselines_on_the_same_splits(workflow_run: WorkflowRun) -> None:
    metrics = json.loads((workflow_run.workdir / "results/evaluate/contrique/synthetic/metrics.json").read_text())
    assert metrics["n_images"] == 54 and metrics["n_refs"] == 6 and metrics["n_splits"] == 3
    for key in (
        "srcc_median",
        "plcc_median",
        "plcc_logistic_median",
        "krcc_median",
        "rmse_median",
        "srcc_std",
    ):
        assert key in metrics["nr_ridge"], key
    assert -1 <= metrics["fr_zero_shot"]["srcc"] <= 1
    assert set(metrics["baselines"]) == {"random_init", "psnr", "ssim", "ms_ssim", "vif_p", "fsim", "gmsd"}
    # the tiny bank's 64 px crops are below MS-SSIM's five scales: skipped with the reason, never scored on a subset
    assert "161 px" in metrics["baselines"]["ms_ssim"]["fr_zero_shot"]["skipped"]
    # Full-reference PSNR tracks the synthetic severity well on any content.
    assert metrics["baselines"]["psnr"]["fr_zero_shot"]["srcc"] > 0.5
    scored = {"contrique", "random_init", "psnr", "ssim", "vif_p", "fsim", "gmsd"}
    assert {row["model"] for row in metrics["table"]} == scored
    assert {"fr_lpips", "contrique_fr_ridge"} <= set(metrics)
    for name in ("scatter.png", "srcc_per_type.png"):
        assert (workflow_run.workdir / "results/evaluate/contrique/synthetic" / name).stat().st_size > 1000


def test_csv_dataset_runs_through_the_workflow(workflow_run: WorkflowRun) -> None:
    if "live" not in workflow_run.config["datasets"]:
        pytest.skip("LIVE JPEG subset not available")
    metrics = json.loads((workflow_run.workdir / "results/evaluate/contrique/live/metrics.json").read_text())
    assert metrics["n_images"] == 49 and metrics["n_refs"] == 8
    assert metrics["baselines"]["psnr"]["fr_zero_shot"]["srcc"] == pytest.approx(0.821, abs=5e-4)


def test_report_summary_compares_every_model(workflow_run: WorkflowRun) -> None:
    summary = pd.read_csv(workflow_run.workdir / "results/report/summary.csv")
    assert {*TINY_METHODS, "random_init", "psnr", "ssim"} <= set(summary["model"])
    # plus the DPS triplets' 2AFC (dps) and the adapted metric's held-out 2AFC (dps_heldout); BAPPS has its own
    # scores.json (evaluate_bapps), in the report and the quality table
    rated = {name for name, spec in workflow_run.config["datasets"].items() if spec["kind"] != "bapps"}
    assert set(summary["dataset"]) == {*rated, "dps", "dps_heldout"}


def test_dps_adaptation_runs_and_joins_the_comparison(workflow_run: WorkflowRun) -> None:
    folder = workflow_run.workdir / "results/adapt_dps/contrique/lin"
    scores = json.loads((folder / "2afc.json").read_text())
    assert 0 <= scores["untrained_test_2afc"] <= 1 and 0 <= scores["adapted_test_2afc"] <= 1
    payload = torch.load(folder / "metric.pt", weights_only=True)
    assert payload["variant"] == "lin" and payload["layers"] == ["layer1", "layer2"]
    assert list(pd.read_csv(folder / "history.csv")["epoch"]) == [0, 1]
    summary = pd.read_csv(workflow_run.workdir / "results/report/summary.csv").set_index(["dataset", "model", "mode"])
    assert summary.loc[("dps_heldout", "contrique/dps_lin", "2afc"), "2afc"] == pytest.approx(
        scores["adapted_test_2afc"]
    )
    fr = summary.loc[("synthetic", "contrique/dps_lin", "fr_zero_shot")]
    assert fr["srcc"] == pytest.approx(scores["score_fr_srcc"]["contrique/dps_lin"]) and fr["kind"] == "method"
    random_init_fr = summary.loc[("synthetic", "random_init", "fr_zero_shot"), "srcc"]
    assert fr["srcc_gain_vs_random_init"] == pytest.approx(fr["srcc"] - random_init_fr)


@pytest.mark.parametrize("method", TINY_METHODS)
def test_every_method_trains_end_to_end_and_is_compared(workflow_run: WorkflowRun, method: str) -> None:
    payload = torch.load(workflow_run.workdir / f"results/train/{method}/encoder.pt", weights_only=True)
    assert payload["method"] == method and payload["arch"] == "resnet18"
    history = pd.read_csv(workflow_run.workdir / f"results/train/{method}/history.csv")
    assert list(history["epoch"]) == [1, 2, 3, 4] and np.isfinite(history["loss"]).all()
    summary = pd.read_csv(workflow_run.workdir / "results/report/summary.csv")
    rows = summary[(summary["model"] == method) & (summary["dataset"] == "synthetic")]
    assert set(rows["mode"]) == {"nr_ridge", "fr_zero_shot", "fr_lpips", "contrique_fr_ridge"}
    assert set(rows["kind"]) == {"method"}
    random_init = summary[(summary["model"] == "random_init") & (summary["dataset"] == "synthetic")]
    for mode, row in rows.set_index("mode").iterrows():
        expected = row["srcc"] - random_init.set_index("mode").loc[mode, "srcc"]
        assert row["srcc_gain_vs_random_init"] == pytest.approx(expected)


def test_mixup_records_its_held_out_transparency_srcc(workflow_run: WorkflowRun) -> None:
    history = pd.read_csv(workflow_run.workdir / "results/train/mixup/history.csv")
    srcc = history["heldout_transparency_srcc"].iloc[-1]
    assert -1.0 <= srcc <= 1.0 and np.isfinite(srcc)


def test_every_rule_is_one_finished_mlflow_run_with_lineage(workflow_run: WorkflowRun) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{workflow_run.workdir / 'results/mlflow.db'}")
    experiment = client.get_experiment_by_name("perceptflow")
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    run_files = sorted((workflow_run.workdir / "results").rglob("*mlflow_run.json"))
    assert len(runs) == len(run_files) >= 15
    by_id = {run.info.run_id: run for run in runs}
    assert {run.info.status for run in runs} == {"FINISHED"}
    assert {run.data.tags["perceptflow.stage"] for run in runs} == STAGES
    assert len({run.data.tags["perceptflow.execution_id"] for run in runs}) == 1
    for path in run_files:
        record = json.loads(path.read_text())
        run = by_id[record["run_id"]]
        assert run.data.tags["perceptflow.rule"].startswith(run.data.tags["perceptflow.stage"])
    evaluate = json.loads((workflow_run.workdir / "results/evaluate/contrique/synthetic/mlflow_run.json").read_text())
    tags = by_id[evaluate["run_id"]].data.tags
    assert set(tags["perceptflow.upstream.regress"].split(",")) <= set(by_id)
    train = json.loads((workflow_run.workdir / "results/train/contrique/mlflow_run.json").read_text())
    train_run = client.get_run(train["run_id"])
    assert [m.step for m in client.get_metric_history(train["run_id"], "loss")] == [1, 2, 3, 4]
    assert train_run.data.params["train.epochs"] == "4"


def test_noop_dry_run_plans_nothing(workflow_run: WorkflowRun) -> None:
    assert planned_jobs(workflow_run.snakemake("-n")) == {}


def test_execution_settings_are_not_rerun_triggers(workflow_run: WorkflowRun, tmp_path: Path) -> None:
    config = copy.deepcopy(workflow_run.config)
    config["mlflow"] = {"experiment": "elsewhere", "tracking_uri": f"sqlite:///{tmp_path / 'other.db'}"}
    result = workflow_run.snakemake(
        "-n", "--cores", "1", config=config, env={"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'env.db'}"}
    )
    assert planned_jobs(result) == {}


def test_regress_change_reruns_only_regress_evaluate_report(workflow_run: WorkflowRun) -> None:
    config = copy.deepcopy(workflow_run.config)
    config["regress"]["alphas"] = [0.5, 5.0]
    jobs = planned_jobs(workflow_run.snakemake("-n", config=config))
    # export_metric: the NR heads choose their alpha from the same grid
    assert set(jobs) == {"regress_ridge", "evaluate_metrics", "export_metric", "report_summary", "all"}


def test_distort_change_reruns_everything_downstream(workflow_run: WorkflowRun) -> None:
    config = copy.deepcopy(workflow_run.config)
    config["distort"]["seed"] = 1
    jobs = planned_jobs(workflow_run.snakemake("-n", config=config))
    assert {
        "distort_references",
        "train_encoder",
        "extract_features",
        "regress_splits",
        "regress_ridge",
        "evaluate_metrics",
        "report_summary",
    } <= set(jobs)
    assert "train_random_init" not in jobs


def test_library_code_change_reruns_its_stage_and_dependents(workflow_run: WorkflowRun, tmp_path: Path) -> None:
    jobs = planned_jobs(workflow_run.snakemake("-n", env=edited_package(tmp_path, "regress/ridge.py")))
    assert {"regress_ridge", "evaluate_metrics", "report_summary"} <= set(jobs)
    assert not {"distort_references", "train_encoder", "extract_features"} & set(jobs)


def test_a_3d_only_module_edit_plans_no_2d_job(workflow_run: WorkflowRun, tmp_path: Path) -> None:
    jobs = planned_jobs(workflow_run.snakemake("-n", env=edited_package(tmp_path, "ssl/volumes/gvsl.py")))
    assert jobs == {}


def test_a_method_module_edit_reruns_that_method_only(workflow_run: WorkflowRun, tmp_path: Path) -> None:
    result = workflow_run.snakemake("-n", env=edited_package(tmp_path, "ssl/simclr.py"))
    jobs = planned_jobs(result)
    assert jobs.get("train_encoder") == len(workflow_run.config["train"]["methods"])  # the shared ssl registry
    assert not {"distort_references", "train_random_init", "regress_splits", "evaluate_fr_baselines"} & set(jobs)


def test_each_rule_runs_only_code_its_hash_covers(workflow_run: WorkflowRun) -> None:
    assert_rules_ran_only_hashed_code(workflow_run.workdir)


def _reorder(value: object, reverse: bool) -> object:
    if isinstance(value, dict):
        return {k: _reorder(value[k], reverse) for k in sorted(value, reverse=reverse)}
    if isinstance(value, list):
        return [_reorder(item, reverse) for item in value]
    return value


@pytest.mark.parametrize("reverse", [False, True], ids=["sorted-keys", "reversed-keys"])
def test_key_order_never_reruns(workflow_run: WorkflowRun, reverse: bool) -> None:
    config = _reorder(copy.deepcopy(workflow_run.config), reverse)
    assert list(config) != list(workflow_run.config) or list(config["train"]) != list(workflow_run.config["train"])
    assert planned_jobs(workflow_run.snakemake("-n", config=config)) == {}


def test_method_override_reaches_only_that_methods_run(workflow_run: WorkflowRun) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{workflow_run.workdir / 'results/mlflow.db'}")
    params = {}
    for method in ("contrique", "simclr"):
        run = json.loads((workflow_run.workdir / f"results/train/{method}/mlflow_run.json").read_text())
        params[method] = client.get_run(run["run_id"]).data.params
    assert params["simclr"]["train.temperature"] == "0.2"
    assert params["contrique"].get("train.temperature") != "0.2"
    assert params["contrique"]["train.lr"] == params["simclr"]["train.lr"] == "0.6"


@pytest.mark.parametrize("section", ["overrides", "mixup"])
def test_one_methods_settings_rerun_only_that_method(workflow_run: WorkflowRun, section: str) -> None:
    config = copy.deepcopy(workflow_run.config)
    if section == "overrides":  # beside the tiny config's own simclr override
        config["train"]["overrides"]["mixup"] = {"lr": 0.1}
    else:
        config["train"]["mixup"] = {"transparency_weight": 5.0}
    result = workflow_run.snakemake("-D", config=config)
    assert {Path(path).parent.name for path in pending_outputs(result, "train_encoder")} == {"mixup"}
    assert pending_outputs(result, "train_random_init") == []


def test_schema_refuses_a_per_method_architecture(workflow_run: WorkflowRun) -> None:
    config = copy.deepcopy(workflow_run.config)
    config["train"]["overrides"] = {"mixup": {"arch": "resnet50"}}
    result = workflow_run.snakemake("-n", config=config, check=False)
    assert result.returncode != 0
    assert "'arch' was unexpected" in result.stdout + result.stderr
    assert "overrides" in result.stdout + result.stderr


def test_schema_rejects_a_misspelled_key_naming_it(workflow_run: WorkflowRun) -> None:
    config = copy.deepcopy(workflow_run.config)
    config["regress"]["n_split"] = 4
    result = workflow_run.snakemake("-n", config=config, check=False)
    assert result.returncode != 0
    assert "n_split" in result.stdout + result.stderr


def test_report_renders_a_page(workflow_run: WorkflowRun) -> None:
    workflow_run.snakemake("--report", "report.html")
    page = (workflow_run.workdir / "report.html").read_text(errors="replace")
    assert len(page) > 10_000
    assert "metrics.json" in page and "summary.csv" in page
