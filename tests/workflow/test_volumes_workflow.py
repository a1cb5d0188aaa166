"""Integration: the 3D workflow alone on a tiny medical-only config, its outputs and its MLflow runs."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
import zarr
from workflow_support import (
    ROOT,
    WorkflowRun,
    assert_rules_ran_only_hashed_code,
    edited_package,
    planned_jobs,
    run_snakemake,
    tiny_config,
)

pytestmark = pytest.mark.slow

VOLUMES = ["mni152_t1", "mni152_wm", "nibabel_anatomical"]
ARTEFACTS = ["mri_blur", "mri_rician_noise", "mri_gamma"]
LEVELS = [1, 3, 5]
METHODS = ["contrastive3d", "gvsl"]
#: widths (4, 8): pooled global (8) + local (4) channels.
FEATURE_DIM = 12


def tiny_volume_config() -> dict:
    """Three bundled volumes at 6 mm in 24^3, three artefacts x three levels, both 3D methods one epoch.

    No 2D section: only ``datasets`` is required, and without a 2D dataset no 2D rule runs.
    """
    return {
        "volumes": {
            "references": {"kind": "demo", "names": VOLUMES},
            "preprocess": {"spacing": 6.0, "shape": 24},
            "distort": {"artefacts": ARTEFACTS, "levels": LEVELS, "seed": 0},
            "train": {"methods": METHODS, "widths": [4, 8], "crop": 16, "epochs": 1, "batch_size": 4},
            "extract": {"window": 24, "stride": 24, "batch_size": 4},  # one window: sliding is unit-tested
            "evaluate": {"fr_distance": "l2", "alphas": [0.1, 1.0, 10.0]},
        },
        "datasets": {"bank": {"kind": "synthetic_volumes"}},
    }


@pytest.fixture(scope="session")
def volume_run(tmp_path_factory: pytest.TempPathFactory) -> WorkflowRun:
    workdir = tmp_path_factory.mktemp("volumes")
    config = tiny_volume_config()
    config_path = workdir / "tiny-volumes.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    start = time.perf_counter()
    imports = {"PERCEPTFLOW_IMPORTS_LOG": str(workdir / "imports")}
    result = run_snakemake(workdir, config_path, "--cores", "2", env=imports)
    return WorkflowRun(workdir, config_path, config, time.perf_counter() - start, result.stdout + result.stderr)


def test_only_3d_rules_run_and_the_bank_is_complete(volume_run: WorkflowRun) -> None:
    assert "train_encoder" not in volume_run.output and "distort_references" not in volume_run.output
    manifest = pd.read_csv(volume_run.workdir / "results/volumes/distort/manifest.csv")
    assert len(manifest) == len(VOLUMES) * (1 + len(ARTEFACTS) * len(LEVELS))
    assert set(manifest["ref_id"]) == set(VOLUMES)
    assert set(manifest.loc[manifest["dist_type"] != "pristine", "dist_type"]) == set(ARTEFACTS)
    assert all(str(p).endswith(".nii.gz") for p in manifest["path"])


def test_volume_feature_stores_have_the_2d_layout(volume_run: WorkflowRun) -> None:
    n_volumes = len(VOLUMES) * len(ARTEFACTS) * len(LEVELS)
    for encoder in [*METHODS, "random_init"]:
        group = zarr.open_group(str(volume_run.workdir / f"results/volumes/extract/{encoder}/bank.zarr"), mode="r")
        assert group["features"].shape == (n_volumes, FEATURE_DIM)
        assert group["ref_features"].shape == (len(VOLUMES), FEATURE_DIM)
        assert group["image_id"].shape == (n_volumes,)
        assert np.isfinite(group["features"][:]).all()
        assert group.attrs["windows"] == {"window": 24, "stride": 24, "batch_size": 4}


def test_volume_metrics_carry_protocol_and_baselines(volume_run: WorkflowRun) -> None:
    for method in METHODS:
        folder = volume_run.workdir / f"results/volumes/evaluate/{method}/bank"
        metrics = json.loads((folder / "metrics.json").read_text())
        assert metrics["split_protocol"] == "leave-one-volume-out" and metrics["n_splits"] == len(VOLUMES)
        assert metrics["n_volumes"] == 27 and metrics["n_refs"] == len(VOLUMES)
        assert set(metrics["baselines"]) == {"random_init", "nrmse", "psnr", "ssim3d"}
        for model in [metrics, *metrics["baselines"].values()]:
            assert -1.0 <= model["fr_zero_shot"]["srcc"] <= 1.0
            assert 0.0 <= model["twoafc"]["score"] <= 1.0
            assert model["twoafc"]["n_pairs"] == len(VOLUMES) * len(ARTEFACTS) * 3  # C(3, 2) level pairs
            assert set(model["fr_zero_shot"]["srcc_per_type"]) == set(ARTEFACTS)
        assert -1.0 <= metrics["nr_ridge"]["srcc_median"] <= 1.0
        # the bank is calibrated on NRMSE: its ranking of levels is near perfect
        assert metrics["baselines"]["nrmse"]["twoafc"]["score"] > 0.9
        assert {row["mode"] for row in metrics["table"]} == {"nr_ridge", "fr_zero_shot", "2afc"}
        assert (folder / "metrics.png").stat().st_size > 10_000
        assert set(pd.read_csv(folder / "predictions.csv")["subset"]) == {"train", "val", "test"}
    summary = pd.read_csv(volume_run.workdir / "results/report/summary.csv")
    assert set(summary["dataset"]) == {"bank"}
    assert {"contrastive3d", "gvsl", "nrmse", "ssim3d"} <= set(summary.loc[summary["mode"] == "2afc", "model"])


def test_every_3d_rule_is_a_finished_mlflow_run(volume_run: WorkflowRun) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{volume_run.workdir / 'results/mlflow.db'}")
    experiment = client.get_experiment_by_name("perceptflow")
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    assert {run.info.status for run in runs} == {"FINISHED"}
    rules = {run.data.tags.get("perceptflow.rule") for run in runs}
    assert {"extract_volume_features", "evaluate_volume_baselines", "evaluate_volumes", "export_volume_metric"} <= rules
    evaluate = json.loads((volume_run.workdir / "results/volumes/evaluate/gvsl/bank/mlflow_run.json").read_text())
    tags = client.get_run(evaluate["run_id"]).data.tags
    assert set(tags["perceptflow.upstream.extract"].split(",")) <= {run.info.run_id for run in runs}


def test_3d_metric_files_score_the_bank_as_evaluate_does(volume_run: WorkflowRun) -> None:
    """`perceptflow score --csv` with each exported 3D metric reproduces evaluate's FR SRCC on the bank; the NR file
    holds the bank's head; the MLflow model of each file loads back into the same scores as `score_paths`."""
    import mlflow
    from scipy.stats import spearmanr

    from perceptflow.cli.main import main
    from perceptflow.metric import VolumeMetric, load_metric, score_paths

    workdir = volume_run.workdir
    table = pd.read_csv(workdir / "results/volumes/evaluate/baselines/bank/table.csv")
    pairs = pd.DataFrame(
        {column: [str(workdir / p) for p in table[key]] for column, key in (("dist", "path"), ("ref", "ref_path"))}
    )
    csv = workdir / "bank_pairs.csv"
    pairs.to_csv(csv, index=False)
    evaluated = {
        m: json.loads((workdir / f"results/volumes/evaluate/{m}/bank/metrics.json").read_text()) for m in METHODS
    }
    expected = {m: evaluated[m]["fr_zero_shot"]["srcc"] for m in METHODS}
    expected["random_init"] = evaluated[METHODS[0]]["baselines"]["random_init"]["fr_zero_shot"]["srcc"]
    mlflow.set_tracking_uri(f"sqlite:///{workdir / 'results/mlflow.db'}")
    try:
        for encoder, srcc in expected.items():
            folder = workdir / f"results/volumes/metric/{encoder}"
            assert isinstance(load_metric(folder / "fr.pt"), VolumeMetric)
            out = workdir / f"scores_{encoder}.csv"
            argv = ["score", "--metric", str(folder / "fr.pt"), "--csv", str(csv), "--as-stored", "--out", str(out)]
            assert main([*argv, "--no-progress"]) == 0
            scores = pd.read_csv(out)["score"].to_numpy()
            assert abs(spearmanr(scores, table["target"])[0]) == pytest.approx(abs(srcc), abs=1e-6), encoder
            nr = load_metric(folder / "bank.pt")
            assert nr.has_nr and nr.nr_lower_better is True and nr.payload["nr"]["n_rows"] == len(table)
            record = json.loads((folder / "fr.mlflow_run.json").read_text())
            model_uri = mlflow.get_run(record["run_id"]).data.tags["perceptflow.metric_model"]
            again = mlflow.pyfunc.load_model(model_uri).predict(pairs.head(4))["score"].to_numpy()
            # the model reads NIfTI files through the file's preprocessing, as a user's files are read
            fr = load_metric(folder / "fr.pt")
            direct = score_paths(fr, list(pairs["dist"].head(4)), list(pairs["ref"].head(4)), progress=False)
            np.testing.assert_allclose(again, direct, rtol=1e-5)
    finally:
        mlflow.set_tracking_uri(None)


def test_each_3d_rule_runs_only_code_its_hash_covers(volume_run: WorkflowRun) -> None:
    assert_rules_ran_only_hashed_code(volume_run.workdir)


def test_a_2d_only_module_edit_plans_no_3d_job(volume_run: WorkflowRun, tmp_path: Path) -> None:
    assert planned_jobs(volume_run.snakemake("-n", env=edited_package(tmp_path, "ssl/simclr.py"))) == {}


def test_a_3d_method_module_edit_reruns_3d_training_and_what_follows(volume_run: WorkflowRun, tmp_path: Path) -> None:
    jobs = planned_jobs(volume_run.snakemake("-n", env=edited_package(tmp_path, "ssl/volumes/gvsl.py")))
    assert jobs.get("train_volume_encoder") == len(METHODS) and "evaluate_volumes" in jobs
    assert not {"distort_volumes", "evaluate_volume_baselines", "train_volume_random_init"} & set(jobs)


def test_a_config_with_2d_and_3d_datasets_plans_both_paths(tmp_path: Path) -> None:
    config = tiny_config(None)
    config["volumes"] = tiny_volume_config()["volumes"]
    config["datasets"]["bank"] = {"kind": "synthetic_volumes"}
    path = tmp_path / "both.yaml"
    path.write_text(yaml.safe_dump(config))
    jobs = planned_jobs(run_snakemake(tmp_path, path, "-n"))
    methods_2d = config["train"].get("methods") or [config["train"]["method"]]
    assert jobs["extract_features"] == len(methods_2d) + 1  # 2D methods + random init, on the 2D dataset only
    assert jobs["extract_volume_features"] == len(METHODS) + 1  # 3D methods + random init, on the bank only
    assert jobs["evaluate_metrics"] == len(methods_2d) and jobs["evaluate_volumes"] == len(METHODS)
    assert jobs["report_summary"] == 1


def test_a_3d_dataset_without_a_volumes_section_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "no-volumes.yaml"
    path.write_text(yaml.safe_dump({"datasets": {"bank": {"kind": "synthetic_volumes"}}}))
    result = run_snakemake(tmp_path, path, "-n", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "datasets ['bank'] are 3D (volumes) but the config has no `volumes:` section" in output


def test_a_configfile_replaces_the_embedded_demo(tmp_path: Path) -> None:
    """With the demo's config.yaml in the working directory, `--configfile medical-only.yaml` plans no 2D rule."""
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    path = tmp_path / "medical-only.yaml"
    path.write_text(yaml.safe_dump(tiny_volume_config()))
    jobs = planned_jobs(run_snakemake(tmp_path, path, "-n"))
    assert jobs["train_volume_encoder"] == len(METHODS)
    assert not {"distort_references", "train_encoder", "extract_features"} & set(jobs)
