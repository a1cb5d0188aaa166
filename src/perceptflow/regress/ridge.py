"""Ridge regression from frozen features to quality, with alpha chosen on each split's validation rows."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from perceptflow.regress.blocks import first_rows
from perceptflow.regress.gram import SHIFT_ROWS, Shift, accumulate, predict_rows, ridge_path, train_stats
from perceptflow.regress.splits import SUBSETS, Split

log = logging.getLogger(__name__)

PREDICTION_COLUMNS = ("split", "subset", "row", "target", "prediction")
#: Bytes of per-split Gram matrices accumulated in one pass (2 splits per pass at D = 4096, 8 at D = 2048).
GRAM_BUDGET = 256 * 2**20


@dataclass
class RidgeResult:
    """Outcome of :func:`fit_ridge_on_splits`.

    Attributes:
        predictions: long table with columns split, subset ("train" | "val" | "test"), row (index into the
            feature matrix), target, prediction; one row per (split, subset, row).
        alphas: chosen alpha per split index.
        val_srcc: validation SRCC per alpha per split index (NaN where undefined, e.g. constant predictions).
    """

    predictions: pd.DataFrame
    alphas: dict[int, float] = field(default_factory=dict)
    val_srcc: dict[int, dict[float, float]] = field(default_factory=dict)


def fit_ridge_on_splits(
    features: Any,
    targets: np.ndarray,
    splits: list[Split],
    alphas: Sequence[float],
    *,
    gram_budget: int = GRAM_BUDGET,
) -> RidgeResult:
    """Ridge per split (``sklearn.linear_model.Ridge`` with an intercept), alpha chosen by validation SRCC.

    For each split, every alpha is fitted on the train rows and scored by the Spearman correlation of its
    validation predictions with the targets; the highest SRCC wins (ties and all-undefined go to the larger
    alpha), and its fit predicts train, val and test. The features are never loaded whole: X^T X and X^T y are
    accumulated over row blocks (float64) once for all rows, each split's train Gram matrix is the total minus
    that of its rows outside train (or its train rows' own, when fewer), one eigendecomposition per split serves
    every alpha, and predictions are streamed block by block.

    Args:
        features: (N, D) feature matrix: a numpy array, a Zarr array (read block by block, aligned with its
            chunks) or a dask array (one task per dask block, on dask's current scheduler: a
            ``dask.distributed`` client when one is active).
        targets: (N,) quality targets (any orientation; predictions follow it).
        splits: content-separated splits indexing rows of ``features``.
        alphas: candidate regularisation strengths, each >= 0 (e.g. ``np.geomspace(1e-3, 1e3, 100)``).
        gram_budget: bytes of per-split D x D matrices accumulated in one pass over the features; more splits
            than fit take more passes.

    Raises:
        ValueError: shapes disagree, values are not finite, an alpha is negative, no splits are given, or a
            split has an empty train subset or an out-of-range row.
    """
    y = _check_data(features, targets)
    grid = _check_alphas(alphas)
    if not splits:
        raise ValueError("fit_ridge_on_splits needs at least one split, got none")
    for split in splits:
        _check_split(split, len(y))
    shift = Shift(first_rows(features, SHIFT_ROWS).mean(axis=0), float(y.mean()))
    fits = _fit_paths(features, y, splits, grid, shift, gram_budget)
    scores, chosen, coefs, intercepts = {}, {}, [], []
    for split, (path, offsets) in zip(splits, fits, strict=True):
        scores[split.index] = _validation_srcc(features, y, split, grid, path, offsets)
        chosen[split.index] = _best_alpha(scores[split.index])
        column = grid.index(chosen[split.index])
        coefs.append(path[:, column])
        intercepts.append(offsets[column])
        log.info(
            "split %d: alpha %.4g, val SRCC %.4f",
            split.index,
            chosen[split.index],
            scores[split.index][chosen[split.index]],
        )
    everywhere = np.unique(np.concatenate([split.subset(name) for split in splits for name in SUBSETS]))
    predicted = predict_rows(features, everywhere, np.stack(coefs, axis=1), np.asarray(intercepts))
    return RidgeResult(predictions=_table(splits, y, everywhere, predicted), alphas=chosen, val_srcc=scores)


def _fit_paths(
    features: Any, y: np.ndarray, splits: list[Split], grid: list[float], shift: Shift, gram_budget: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Coefficients (D, A) and intercepts (A,) per split: one pass for the totals, then passes over groups of
    splits (as many D x D matrices as ``gram_budget`` holds), each split's train rows from the smaller side."""
    n_rows, dim = int(features.shape[0]), int(features.shape[1])
    (total,), bad = accumulate(features, y, shift, [None])
    if bad:
        raise ValueError(f"features contain {bad} non-finite values (NaN or inf)")
    per_pass = max(1, gram_budget // (8 * dim * dim))
    log.info("ridge: totals of %d x %d accumulated; %d splits, %d per pass", n_rows, dim, len(splits), per_pass)
    fits: list[tuple[np.ndarray, np.ndarray]] = []
    for first in range(0, len(splits), per_pass):
        group = splits[first : first + per_pass]
        own = [_smaller_side(split, n_rows) for split in group]
        stats, _ = accumulate(features, y, shift, [rows for rows, _ in own])
        for _, is_train in own:
            part = stats.pop(0)  # dropped once solved: its D x D buffer is freed before the next split's eigh
            fits.append(ridge_path(train_stats(total, part, is_train), shift, grid))
            del part
    return fits


def _smaller_side(split: Split, n_rows: int) -> tuple[np.ndarray, bool]:
    """The split's train rows, or the rows outside train when fewer (the train stats are then total - them)."""
    outside = np.setdiff1d(np.arange(n_rows), split.train, assume_unique=True)
    return (split.train, True) if split.train.size <= outside.size else (outside, False)


def _validation_srcc(
    features: Any, y: np.ndarray, split: Split, grid: list[float], coefs: np.ndarray, intercepts: np.ndarray
) -> dict[float, float]:
    """Val SRCC per alpha (NaN where a prediction or the targets are constant)."""
    if split.val.size < 2:
        log.warning("split %d has %d validation rows: SRCC undefined, largest alpha used", split.index, split.val.size)
        return dict.fromkeys(grid, math.nan)
    predicted = predict_rows(features, split.val, coefs, intercepts)
    result = {}
    for column, alpha in enumerate(grid):
        column_values = predicted[:, column]
        if np.ptp(column_values) == 0 or np.ptp(y[split.val]) == 0:
            result[alpha] = math.nan
        else:
            result[alpha] = float(stats.spearmanr(column_values, y[split.val]).statistic)
    return result


def _table(splits: list[Split], y: np.ndarray, rows: np.ndarray, predicted: np.ndarray) -> pd.DataFrame:
    """The long predictions table: one row per (split, subset, row)."""
    tables = []
    for column, split in enumerate(splits):
        for name in SUBSETS:
            subset = split.subset(name)
            tables.append(
                pd.DataFrame(
                    {
                        "split": split.index,
                        "subset": name,
                        "row": subset,
                        "target": y[subset],
                        "prediction": predicted[np.searchsorted(rows, subset), column],
                    }
                )
            )
    return pd.concat(tables, ignore_index=True).astype({"split": "int64", "row": "int64"})


def _best_alpha(scores: dict[float, float]) -> float:
    """Alpha with the highest SRCC; NaN counts as worst; ties go to the larger alpha."""
    best_alpha, best_score = max(scores), -math.inf
    for alpha in sorted(scores):
        score = scores[alpha]
        if not math.isnan(score) and score >= best_score:
            best_alpha, best_score = alpha, score
    return best_alpha


def _check_data(features: Any, targets: np.ndarray) -> np.ndarray:
    """The targets as float64, once shapes agree and they are finite (features are checked while accumulating)."""
    shape = tuple(getattr(features, "shape", ()))
    y = np.asarray(targets, dtype=np.float64)
    if len(shape) != 2:
        raise ValueError(f"features must be 2-D (N, D), got shape {shape}")
    if y.ndim != 1 or y.shape[0] != shape[0]:
        raise ValueError(f"targets must have shape ({shape[0]},) like features {shape}, got {y.shape}")
    bad = np.count_nonzero(~np.isfinite(y))
    if bad:
        raise ValueError(f"targets contain {bad} non-finite values (NaN or inf)")
    if isinstance(features, np.ndarray):
        bad = np.count_nonzero(~np.isfinite(features))
        if bad:
            raise ValueError(f"features contain {bad} non-finite values (NaN or inf)")
    return y


def _check_alphas(alphas: Sequence[float]) -> list[float]:
    grid = sorted({float(a) for a in alphas})
    if not grid:
        raise ValueError("alphas is empty; give at least one regularisation strength")
    if any(not math.isfinite(a) or a < 0 for a in grid):
        raise ValueError(f"alphas must be finite and >= 0, got {list(alphas)}")
    return grid


def _check_split(split: Split, n_rows: int) -> None:
    if split.train.size == 0:
        raise ValueError(f"split {split.index} has no train rows")
    for name in SUBSETS:
        rows = split.subset(name)
        if rows.size and (rows.min() < 0 or rows.max() >= n_rows):
            raise ValueError(
                f"split {split.index} {name} rows must lie in [0, {n_rows}), got [{rows.min()}, {rows.max()}]"
            )
