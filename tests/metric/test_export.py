"""Exporting metric files: the NR head is the regress ridge refitted on all rows; the MLflow model scores the same."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import Ridge

from perceptflow.export.mlflow_model import log_metric_model
from perceptflow.export.nr_head import choose_alpha, fit_nr_head
from perceptflow.features.fr import read_fr_values, write_fr_values
from perceptflow.features.store import write_feature_store
from perceptflow.metric import load_metric, metric_payload, save_metric_file, score_files
from perceptflow.regress.splits import content_splits


def rated(seed: int = 0, n_groups: int = 10, per_group: int = 6) -> tuple[np.ndarray, np.ndarray, list]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_groups * per_group, 12))
    y = x @ rng.normal(size=12) + rng.normal(0, 0.3, len(x))
    groups = [f"r{i // per_group}" for i in range(len(x))]
    return x, y, content_splits(groups, 4, seed=0)


def test_nr_head_is_ridge_on_all_rows_with_the_alpha_of_the_splits() -> None:
    x, y, splits = rated()
    alphas = [0.01, 1.0, 100.0, 1e4]
    head = fit_nr_head(x, y, splits, alphas=alphas, dataset="d", target="mos", higher_is_better=True)
    assert head["alpha"] == choose_alpha(x, y, splits, alphas) and head["alpha"] < 1e4  # heavy shrinkage loses
    expected = Ridge(alpha=head["alpha"]).fit(x, y)
    np.testing.assert_allclose(head["coef"].numpy(), expected.coef_, rtol=1e-10)
    assert head["intercept"] == pytest.approx(expected.intercept_) and head["n_rows"] == len(x)


def test_fr_values_round_trip_through_the_store(tmp_path: Path) -> None:
    store = tmp_path / "s.zarr"
    features = np.zeros((3, 4), np.float32)
    write_feature_store(store, features=features, image_ids=list("abc"), ref_features=features[:1], ref_ids=["r"],
                        attributes={})  # fmt: skip
    assert read_fr_values(store) == {}
    write_fr_values(store, {"lpips": np.array([0.1, 0.2, 0.3])}, {"lpips": {"layers": ["layer1"]}})
    np.testing.assert_array_equal(read_fr_values(store)["lpips"], [0.1, 0.2, 0.3])


@pytest.mark.slow
def test_mlflow_model_loads_back_into_the_same_scores(
    encoder: torch.nn.Module, image_pairs: tuple[list[Path], list[Path]], tmp_path: Path
) -> None:
    refs, dists = image_pairs
    nr = {"coef": torch.linspace(0, 1, 1024, dtype=torch.float64), "intercept": 1.0, "alpha": 1.0,
          "higher_is_better": True}  # fmt: skip
    path = tmp_path / "synthetic.pt"
    save_metric_file(metric_payload(encoder, method="random", nr=nr), path)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        # artifacts under tmp_path (the default, ./mlruns, would write into the checkout)
        experiment = mlflow.create_experiment("metric-test", artifact_location=(tmp_path / "artifacts").as_uri())
        with mlflow.start_run(experiment_id=experiment):
            uri = log_metric_model(path, name="metric", full_reference=False, register_as="perceptflow-test")
        model = mlflow.pyfunc.load_model(uri)
        frame = pd.DataFrame({"dist": [str(d) for d in dists], "ref": [str(r) for r in refs]})
        metric = load_metric(path)
        np.testing.assert_allclose(model.predict(frame)["score"], score_files(metric, dists, refs, progress=False))
        nr_scores = model.predict(frame[["dist"]])["score"]
        np.testing.assert_allclose(nr_scores, score_files(metric, dists, progress=False), rtol=1e-6)
        registered = mlflow.MlflowClient().get_registered_model("perceptflow-test")
        assert registered.name == "perceptflow-test"
    finally:
        mlflow.set_tracking_uri(None)
