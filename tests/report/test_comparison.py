"""The comparison table covers every method x dataset (plus DPS 2AFC) and goes to one parent MLflow run."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from perceptflow.evaluate.comparison import (
    PARENT_TAG,
    comparison_table,
    log_to_parent_run,
    method_matrix,
    write_parent_run_file,
)
from perceptflow.evaluate.stage import report_summary
from perceptflow.tracking import TrackingSettings, init_tracking

SRCC = {
    ("contrique", "synthetic"): 0.9,
    ("simclr", "synthetic"): 0.7,
    ("contrique", "live"): 0.8,
    ("simclr", "live"): 0.6,
}
RANDOM = {"synthetic": 0.5, "live": 0.4}


def _metrics(root: Path, method: str, dataset: str) -> Path:
    table = [
        {"dataset": dataset, "model": method, "mode": "nr_ridge", "srcc": SRCC[method, dataset], "plcc": 0.5},
        {"dataset": dataset, "model": "random_init", "mode": "nr_ridge", "srcc": RANDOM[dataset], "plcc": 0.3},
        {"dataset": dataset, "model": "psnr", "mode": "fr_zero_shot", "srcc": 0.2, "plcc": 0.1},
    ]
    path = root / method / dataset / "metrics.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"method": method, "dataset": dataset, "table": table}))
    return path


@pytest.fixture()
def inputs(tmp_path: Path) -> tuple[list[Path], Path]:
    files = [_metrics(tmp_path, m, d) for m in ("contrique", "simclr") for d in ("synthetic", "live")]
    twoafc = tmp_path / "2afc.json"
    twoafc.write_text(json.dumps({"score_2afc": {"contrique": 0.7, "simclr": 0.75, "random_init": 0.6}}))
    return files, twoafc


def test_table__every_method_by_dataset_with_gain_and_2afc(inputs: tuple[list[Path], Path]) -> None:
    files, twoafc = inputs
    table = comparison_table(files, [twoafc])
    nr = method_matrix(table)
    assert nr.loc["simclr", "live"] == 0.6 and nr.loc["contrique", "synthetic"] == 0.9
    assert nr.loc["random_init", "synthetic"] == 0.5
    assert len(table[(table["model"] == "random_init") & (table["mode"] == "nr_ridge")]) == 2  # deduplicated
    gain = table.set_index(["dataset", "model", "mode"])["srcc_gain_vs_random_init"]
    assert gain["synthetic", "simclr", "nr_ridge"] == pytest.approx(0.2)
    assert gain["live", "contrique", "nr_ridge"] == pytest.approx(0.4)
    assert gain["dps", "simclr", "2afc"] == pytest.approx(0.15)
    assert pd.isna(gain["synthetic", "random_init", "nr_ridge"])
    kinds = table[table["mode"] == "2afc"].set_index("model")["kind"]
    assert kinds.to_dict() == {"contrique": "method", "simclr": "method", "random_init": "baseline"}


def test_write_summary__csv_and_png(inputs: tuple[list[Path], Path], tmp_path: Path) -> None:
    files, twoafc = inputs
    report_summary(files, table_out=tmp_path / "t.csv", plot_out=tmp_path / "p.png", twoafc_files=[twoafc])
    assert len(pd.read_csv(tmp_path / "t.csv")) == 4 + 2 + 2 + 3  # methods, random init, psnr, 2afc rows
    assert (tmp_path / "p.png").stat().st_size > 1000


def test_table__bad_2afc_file_names_it(inputs: tuple[list[Path], Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(ValueError, match=r"bad\.json"):
        comparison_table(inputs[0], [bad])


def test_parent_run__created_once_per_execution_and_finished(
    inputs: tuple[list[Path], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    settings = TrackingSettings(experiment="unit", tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = init_tracking(settings)
    table = tmp_path / "t.csv"
    report_summary(inputs[0], table_out=table, plot_out=tmp_path / "p.png")
    uri = settings.resolved_uri()
    first = log_to_parent_run([table], execution_id="e1", experiment_id=experiment, tracking_uri=uri)
    again = log_to_parent_run([table], execution_id="e1", experiment_id=experiment, tracking_uri=uri)
    other = log_to_parent_run([table], execution_id="e2", experiment_id=experiment, tracking_uri=uri)
    assert first == again != other
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(first)
    assert run.info.status == "FINISHED" and run.info.run_name == "workflow:e1"
    assert run.data.tags[PARENT_TAG] == "true" and run.data.tags["perceptflow.rule"].startswith("report")
    assert [a.path for a in client.list_artifacts(first, "comparison")] == ["comparison/t.csv"]
    write_parent_run_file(tmp_path / "parent_mlflow_run.json", run_id=first, experiment="unit")
    assert json.loads((tmp_path / "parent_mlflow_run.json").read_text())["run_id"] == first
