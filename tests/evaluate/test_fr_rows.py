"""Evaluate's full-reference rows: fr_lpips from the store's fr/lpips values, contrique_fr_ridge on |f_ref - f|."""

from __future__ import annotations

import numpy as np
import pandas as pd

from perceptflow.data.datasets import DatasetTable
from perceptflow.evaluate.stage import ModelOutputs, comparison_rows, full_reference_rows
from perceptflow.features.store import FeatureStore
from perceptflow.regress.splits import content_splits
from perceptflow.regress.stage import ridge_on_features


def synthetic(n_refs: int = 8, levels: int = 4, seed: int = 0) -> tuple[DatasetTable, FeatureStore]:
    """Features drift from their reference's in proportion to the level (higher = worse)."""
    rng = np.random.default_rng(seed)
    refs = rng.normal(size=(n_refs, 6))
    rows, feats = [], []
    for r in range(n_refs):
        for level in range(1, levels + 1):
            feats.append(refs[r] + level * rng.normal(0.3, 0.05, 6))
            rows.append({"image_id": f"{r}_{level}", "path": "x", "ref_id": f"r{r}", "ref_path": "y",
                         "target": float(level), "dist_type": "t"})  # fmt: skip
    table = DatasetTable("toy", pd.DataFrame(rows), "level", higher_is_better=False)
    store = FeatureStore(np.asarray(feats, np.float32), table.frame["image_id"].to_numpy(str),
                         refs.astype(np.float32), np.asarray([f"r{r}" for r in range(n_refs)]))  # fmt: skip
    return table, store


def test_fr_rows_score_both_and_join_the_table() -> None:
    table, store = synthetic()
    splits = content_splits(list(table.frame["ref_id"]), 3, seed=0)
    lpips = table.frame["target"].to_numpy() + 0.01 * np.arange(len(table.frame))  # rises with the level
    predictions = ridge_on_features(store.features, table, splits, alphas=[1.0]).predictions
    outputs = ModelOutputs(store=store, predictions=predictions, fr={"lpips": lpips})
    rows = full_reference_rows(outputs, table, splits, alphas=[0.1, 1.0])
    assert rows["fr_lpips"]["srcc"] > 0.95  # distance up, level up: agreement (positive) after orientation
    assert rows["contrique_fr_ridge"]["srcc_median"] > 0.8 and rows["contrique_fr_ridge"]["n_splits"] == 3
    metrics = {"dataset": "toy", "method": "m", "baselines": {}, **rows}
    modes = {row["mode"]: row for row in comparison_rows(metrics)}
    assert modes["fr_lpips"]["srcc"] == rows["fr_lpips"]["srcc"]
    assert modes["contrique_fr_ridge"]["srcc"] == rows["contrique_fr_ridge"]["srcc_median"]


def test_without_values_or_alphas_no_rows_are_made() -> None:
    table, store = synthetic()
    splits = content_splits(list(table.frame["ref_id"]), 2, seed=0)
    outputs = ModelOutputs(store=store, predictions=pd.DataFrame())
    assert full_reference_rows(outputs, table, splits, alphas=None) == {}
