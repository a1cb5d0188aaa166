"""Out-of-core ridge: Gram accumulation equals per-split sklearn fits, for numpy, Zarr and dask features."""

from __future__ import annotations

from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import zarr
from scipy import stats
from sklearn.linear_model import Ridge

from perceptflow.regress import content_splits, fit_ridge_on_splits
from perceptflow.regress.ridge import RidgeResult

ALPHAS = list(np.geomspace(1e-3, 1e3, 13))


def problem(n: int = 400, dim: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list]:
    """Features with a large common offset (as ReLU features have) and a noisy linear target."""
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=(n, dim)) + 5.0).astype(np.float32)
    y = x @ rng.normal(size=dim) + rng.normal(scale=2.0, size=n)
    splits = content_splits([str(i // 8) for i in range(n)], 3, (0.7, 0.1, 0.2), seed)
    return x, y, splits


def zarr_features(x: np.ndarray, path: Path, chunk_rows: int = 32) -> zarr.Array:
    array = zarr.create_array(str(path), shape=x.shape, dtype="float32", chunks=(chunk_rows, x.shape[1]))
    array[:] = x
    return array


def assert_same(result: RidgeResult, expected: RidgeResult, atol: float = 1e-9) -> None:
    assert result.alphas == expected.alphas
    for split, scores in expected.val_srcc.items():
        np.testing.assert_allclose(list(result.val_srcc[split].values()), list(scores.values()), atol=1e-12)
    assert result.predictions[["split", "subset", "row"]].equals(expected.predictions[["split", "subset", "row"]])
    np.testing.assert_allclose(result.predictions["prediction"], expected.predictions["prediction"], atol=atol)


def test_fit_ridge__equals_one_sklearn_ridge_per_split_and_alpha_within_1e6() -> None:
    x, y, splits = problem()
    result = fit_ridge_on_splits(x, y, splits, ALPHAS)
    x64 = x.astype(np.float64)
    for split in splits:
        scores = {}
        for alpha in ALPHAS:
            model = Ridge(alpha=alpha).fit(x64[split.train], y[split.train])
            scores[alpha] = stats.spearmanr(model.predict(x64[split.val]), y[split.val]).statistic
        np.testing.assert_allclose(list(result.val_srcc[split.index].values()), list(scores.values()), atol=1e-12)
        best = Ridge(alpha=result.alphas[split.index]).fit(x64[split.train], y[split.train])
        table = result.predictions.query(f"split == {split.index}")
        np.testing.assert_allclose(table["prediction"], best.predict(x64[table["row"]]), rtol=0, atol=1e-6)


def test_fit_ridge__zarr_and_dask_features_give_the_numpy_result(tmp_path: Path) -> None:
    x, y, splits = problem()
    expected = fit_ridge_on_splits(x, y, splits, ALPHAS)
    assert_same(fit_ridge_on_splits(zarr_features(x, tmp_path / "x.zarr"), y, splits, ALPHAS), expected)
    assert_same(fit_ridge_on_splits(da.from_array(x, chunks=(50, 12)), y, splits, ALPHAS), expected)


def test_fit_ridge__one_split_per_pass_gives_the_same_result() -> None:
    x, y, splits = problem()
    expected = fit_ridge_on_splits(x, y, splits, ALPHAS)
    assert_same(fit_ridge_on_splits(x, y, splits, ALPHAS, gram_budget=1), expected)


def test_fit_ridge__train_side_smaller_than_the_held_out_side() -> None:
    # Train 20% of the groups: its Gram matrix is accumulated directly instead of as total minus held-out.
    x, y, _ = problem()
    splits = content_splits([str(i // 8) for i in range(len(y))], 2, (0.2, 0.4, 0.4), 1)
    result = fit_ridge_on_splits(x, y, splits, ALPHAS)
    for split in splits:
        best = Ridge(alpha=result.alphas[split.index]).fit(x[split.train].astype(float), y[split.train])
        table = result.predictions.query(f"split == {split.index}")
        np.testing.assert_allclose(table["prediction"], best.predict(x[table["row"]].astype(float)), atol=1e-6)


def test_fit_ridge__more_features_than_train_rows_matches_sklearn() -> None:
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(60, 100)), rng.normal(size=60)
    splits = content_splits([str(i // 3) for i in range(60)], 1, (0.6, 0.2, 0.2), 0)
    result = fit_ridge_on_splits(x, y, splits, [1e-2, 1.0, 1e2])
    best = Ridge(alpha=result.alphas[0]).fit(x[splits[0].train], y[splits[0].train])
    table = result.predictions
    np.testing.assert_allclose(table["prediction"], best.predict(x[table["row"]]), atol=1e-6)


def test_fit_ridge__non_finite_zarr_features_are_named(tmp_path: Path) -> None:
    x, y, splits = problem()
    x[123, 4] = np.nan
    with pytest.raises(ValueError, match="features contain 1 non-finite"):
        fit_ridge_on_splits(zarr_features(x, tmp_path / "x.zarr"), y, splits, ALPHAS)
    with pytest.raises(ValueError, match="targets contain 1 non-finite"):
        fit_ridge_on_splits(x[:, :2] * 0, np.where(np.arange(len(y)) == 3, np.inf, y), splits, ALPHAS)
