"""The regress stage: content-separated splits per dataset, then ridge per (encoder, dataset)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from perceptflow.data.datasets import DatasetTable, load_dataset, read_table, save_table
from perceptflow.features.store import open_feature_store
from perceptflow.regress.blocks import dask_scheduler
from perceptflow.regress.ridge import RidgeResult, fit_ridge_on_splits
from perceptflow.regress.splits import Split, content_splits, splits_from_json, splits_to_json
from perceptflow.types import PathLikeStr

#: Rows per dask task when a cluster fits the ridge: each task returns D x D partial sums, so blocks are large.
DASK_BLOCK_ROWS = 8192


def make_splits(
    table: DatasetTable,
    *,
    n_splits: int,
    fractions: Sequence[float],
    seed: int,
    splits_out: PathLikeStr,
    table_out: PathLikeStr,
) -> list[Split]:
    """Draw reference-separated splits for ``table`` and write them with the table they index."""
    splits = content_splits(list(table.frame["ref_id"]), n_splits, tuple(fractions), seed)  # type: ignore[arg-type]
    splits_to_json(splits, list(table.frame["ref_id"]), splits_out)
    save_table(table, table_out)
    return splits


def aligned_features(store_path: PathLikeStr, table: DatasetTable) -> Any:
    """The store's (N, D) Zarr feature array, unread, once its rows are checked to follow the table's order
    (ValueError naming the store on any mismatch)."""
    store = open_feature_store(store_path)
    expected = table.frame["image_id"].to_numpy(dtype=str)
    if len(store.image_ids) != len(expected) or not np.array_equal(store.image_ids, expected):
        raise ValueError(
            f"{store_path}: image ids do not match dataset {table.name!r} ({len(store.image_ids)} stored rows, "
            f"{len(expected)} in the table); re-run extract for this dataset"
        )
    return store.features


def ridge_on_store(
    store_path: PathLikeStr, table_path: PathLikeStr, splits_path: PathLikeStr, *, alphas: Sequence[float]
) -> RidgeResult:
    """Fit ridge on every split of a dataset's frozen features; predictions carry ``image_id``."""
    table = read_table(table_path)
    features = aligned_features(store_path, table)
    with dask_scheduler() as distributed:
        if distributed:
            import dask.array as da

            step = features.chunks[0]  # whole Zarr chunks of about DASK_BLOCK_ROWS rows: few large partial sums
            features = da.from_zarr(features, chunks=(max(step, DASK_BLOCK_ROWS // step * step), -1))
        return ridge_on_features(features, table, splits_from_json(splits_path), alphas=alphas)


def ridge_on_features(
    features: Any, table: DatasetTable, splits: list[Split], *, alphas: Sequence[float]
) -> RidgeResult:
    """Ridge on features (numpy, Zarr or dask: see `fit_ridge_on_splits`); adds ``image_id`` and ``dist_type``
    to the predictions table."""
    result = fit_ridge_on_splits(features, table.frame["target"].to_numpy(dtype=float), splits, alphas)
    rows = result.predictions["row"].to_numpy()
    result.predictions.insert(0, "image_id", table.frame["image_id"].to_numpy()[rows])
    result.predictions["dist_type"] = table.frame["dist_type"].to_numpy()[rows]
    return result


def alphas_frame(result: RidgeResult) -> pd.DataFrame:
    """Chosen alpha and validation SRCC per split (for logging)."""
    return pd.DataFrame(
        {
            "split": list(result.alphas),
            "alpha": list(result.alphas.values()),
            "val_srcc": [result.val_srcc[s][a] for s, a in result.alphas.items()],
        }
    )


def regress_splits(
    dataset: str,
    spec: Mapping[str, Any],
    split_params: Mapping[str, Any],
    *,
    manifest: PathLikeStr | None,
    splits_out: PathLikeStr,
    table_out: PathLikeStr,
) -> tuple[DatasetTable, list[Split]]:
    """Rule ``regress_splits``: the dataset's table and its reference-separated splits, written side by side."""
    table = load_dataset(dataset, dict(spec), synthetic_manifest=manifest)
    splits = make_splits(table, **split_params, splits_out=splits_out, table_out=table_out)
    return table, splits


def regress_ridge(
    features: PathLikeStr,
    table: PathLikeStr,
    splits: PathLikeStr,
    *,
    alphas: Sequence[float],
    predictions_out: PathLikeStr,
    alphas_out: PathLikeStr,
) -> RidgeResult:
    """Rule ``regress_ridge``: ridge on every split of one encoder's features; predictions and chosen alphas."""
    result = ridge_on_store(features, table, splits, alphas=alphas)
    result.predictions.to_csv(predictions_out, index=False)
    alphas_frame(result).to_csv(alphas_out, index=False)
    return result
