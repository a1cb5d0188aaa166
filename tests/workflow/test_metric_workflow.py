"""The workflow's metric files: every encoder exports one, `perceptflow score` reproduces evaluate's FR SRCC, and the
MLflow model loads back into the same scores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from workflow_support import WorkflowRun

from perceptflow.cli.main import main
from perceptflow.metric import load_metric, score_files


@pytest.mark.slow
def test_every_encoder_exports_fr_and_nr_metric_files(workflow_run: WorkflowRun) -> None:
    results = workflow_run.workdir / "results/metric"
    encoders = [*workflow_run.config["train"]["methods"], "random_init"]
    for encoder in encoders:
        rated = [name for name, spec in workflow_run.config["datasets"].items() if spec["kind"] != "bapps"]
        for target in ("fr", *sorted(rated)):
            metric = load_metric(results / encoder / f"{target}.pt")
            assert metric.kind == "lpips" and metric.layers == ("layer1", "layer2", "layer3")
            assert metric.has_nr == (target != "fr")
    live = load_metric(results / "contrique/live.pt")
    assert live.nr_lower_better is True and live.payload["nr"]["target"] == "dmos"


@pytest.mark.slow
def test_score_csv_reproduces_evaluates_lpips_srcc_on_live(
    workflow_run: WorkflowRun, live_jpeg_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "scores.csv"
    metric_file = workflow_run.workdir / "results/metric/contrique/fr.pt"
    argv = ["score", "--metric", str(metric_file), "--csv", str(live_jpeg_dir / "scores.csv"), "--out", str(out)]
    assert main([*argv, "--no-progress"]) == 0
    scores = pd.read_csv(out)
    dmos = pd.read_csv(live_jpeg_dir / "scores.csv")["dmos"]
    metrics = json.loads((workflow_run.workdir / "results/evaluate/contrique/live/metrics.json").read_text())
    # both orient "higher = better": -distance against -DMOS, the same ranks as distance against DMOS
    assert spearmanr(scores["score"], dmos).statistic == pytest.approx(metrics["fr_lpips"]["srcc"], abs=1e-6)
    modes = {row["mode"] for row in metrics["table"]}
    assert {"fr_lpips", "contrique_fr_ridge"} <= modes


@pytest.mark.slow
def test_the_mlflow_model_loads_back_into_the_same_scores(workflow_run: WorkflowRun, live_jpeg_dir: Path) -> None:
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{workflow_run.workdir / 'results/mlflow.db'}"
    record = json.loads((workflow_run.workdir / "results/metric/contrique/live.mlflow_run.json").read_text())
    model_uri = MlflowClient(tracking_uri=uri).get_run(record["run_id"]).data.tags["perceptflow.metric_model"]
    table = pd.read_csv(live_jpeg_dir / "scores.csv").head(6)
    frame = pd.DataFrame({"dist": [str(live_jpeg_dir / p) for p in table["dist"]]})
    mlflow.set_tracking_uri(uri)
    try:
        predicted = mlflow.pyfunc.load_model(model_uri).predict(frame)["score"]
    finally:
        mlflow.set_tracking_uri(None)
    metric = load_metric(workflow_run.workdir / "results/metric/contrique/live.pt")
    np.testing.assert_allclose(predicted, score_files(metric, list(frame["dist"]), progress=False), rtol=1e-6)


@pytest.mark.slow
def test_scores_rise_with_distortion_level_on_the_bank(workflow_run: WorkflowRun) -> None:
    """The FR score rises strictly with the level for >= 90% of (reference, type) pairs (the tiny run's CONTRIQUE:
    17 of 18; the issue's 95% target is not met by the demo encoder either, 92%: docs/metric.md, contrast change)."""
    from perceptflow.data.datasets import read_table

    table = read_table(workflow_run.workdir / "results/regress/synthetic/table.csv").frame
    table = table[table["dist_type"] != "pristine"]
    root = workflow_run.workdir  # the table's paths are relative to the workflow's directory
    paths, refs = [root / p for p in table["path"]], [root / p for p in table["ref_path"]]
    metric = load_metric(workflow_run.workdir / "results/metric/contrique/fr.pt")
    table = table.assign(score=score_files(metric, paths, refs, progress=False))
    rising = [
        bool(np.all(np.diff(group.sort_values("target")["score"].to_numpy()) > 0))
        for _, group in table.groupby(["ref_id", "dist_type"])
    ]
    assert np.mean(rising) >= 0.9, f"{sum(rising)} of {len(rising)} (reference, type) pairs rise with the level"


@pytest.mark.slow
def test_bapps_is_scored_with_every_exported_metric_and_the_pixel_baselines(workflow_run: WorkflowRun) -> None:
    from perceptflow.data.rated import load_bapps
    from perceptflow.evaluate import score_2afc

    scores = json.loads((workflow_run.workdir / "results/evaluate/bapps/bapps/scores.json").read_text())
    encoders = [*workflow_run.config["train"]["methods"], "random_init"]
    assert set(scores["twoafc"]) == set(scores["jnd_map"]) == {"psnr", "ssim", *encoders}
    assert scores["n_triplets"] == 8 and scores["n_jnd_pairs"] == 4
    assert scores["twoafc"]["psnr"]["mean"] == pytest.approx(0.9)  # the fixture's judges prefer the milder blur
    data = load_bapps(Path(workflow_run.config["datasets"]["bapps"]["path"]))
    metric = load_metric(workflow_run.workdir / "results/metric/contrique/fr.pt")
    d0 = score_files(metric, list(data.twoafc["p0"]), list(data.twoafc["ref"]), progress=False)
    d1 = score_files(metric, list(data.twoafc["p1"]), list(data.twoafc["ref"]), progress=False)
    for subset in ("cnn", "traditional"):
        rows = (data.twoafc["subset"] == subset).to_numpy()
        expected = score_2afc(d0[rows], d1[rows], data.twoafc["judge"].to_numpy()[rows])
        assert scores["twoafc"]["contrique"]["per_subset"][f"val/{subset}"] == pytest.approx(expected, abs=1e-9)
