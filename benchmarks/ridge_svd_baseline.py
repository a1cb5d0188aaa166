"""Ridge regression from frozen features to quality, with alpha chosen on each split's validation rows."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.linear_model import Ridge

from perceptflow.regress.splits import SUBSETS, Split

log = logging.getLogger(__name__)

PREDICTION_COLUMNS = ("split", "subset", "row", "target", "prediction")


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
    features: np.ndarray, targets: np.ndarray, splits: list[Split], alphas: Sequence[float]
) -> RidgeResult:
    """Fit ``sklearn.linear_model.Ridge`` per split, choosing alpha by validation SRCC.

    For each split, every alpha is fitted on the train rows and scored by the Spearman correlation of its
    validation predictions with the targets; the highest SRCC wins (ties and all-undefined go to the larger
    alpha). The winner is refitted on the train rows (default solver) and predicts train, val and test.
    The alpha search costs one SVD per split: a single ``Ridge(alpha=<array>, solver="svd")`` fits one
    alpha per copy of the target, identical to one fit per alpha.

    Args:
        features: (N, D) feature matrix.
        targets: (N,) quality targets (any orientation; predictions follow it).
        splits: content-separated splits indexing rows of ``features``.
        alphas: candidate regularisation strengths, each >= 0 (e.g. ``np.geomspace(1e-3, 1e3, 100)``).

    Raises:
        ValueError: shapes disagree, values are not finite, an alpha is negative, no splits are given, or a
            split has an empty train subset or an out-of-range row.
    """
    x, y = _check_data(features, targets)
    grid = _check_alphas(alphas)
    if not splits:
        raise ValueError("fit_ridge_on_splits needs at least one split, got none")
    tables, chosen, scores = [], {}, {}
    for split in splits:
        _check_split(split, len(y))
        scores[split.index] = _validation_srcc(x, y, split, grid)
        chosen[split.index] = _best_alpha(scores[split.index])
        model = Ridge(alpha=chosen[split.index]).fit(x[split.train], y[split.train])
        for name in SUBSETS:
            rows = split.subset(name)
            predicted = model.predict(x[rows]) if rows.size else np.empty(0)
            tables.append(
                pd.DataFrame(
                    {
                        "split": split.index,
                        "subset": name,
                        "row": rows,
                        "target": y[rows],
                        "prediction": predicted,
                    }
                )
            )
        log.info(
            "split %d: alpha %.4g, val SRCC %.4f",
            split.index,
            chosen[split.index],
            scores[split.index][chosen[split.index]],
        )
    predictions = pd.concat(tables, ignore_index=True).astype({"split": "int64", "row": "int64"})
    return RidgeResult(predictions=predictions, alphas=chosen, val_srcc=scores)


def _validation_srcc(x: np.ndarray, y: np.ndarray, split: Split, grid: list[float]) -> dict[float, float]:
    """Val SRCC per alpha. One SVD serves every alpha: sklearn's Ridge fits one alpha per target column."""
    if split.val.size < 2:
        log.warning("split %d has %d validation rows: SRCC undefined, largest alpha used", split.index, split.val.size)
        return dict.fromkeys(grid, math.nan)
    tiled = np.repeat(y[split.train, None], len(grid), axis=1)
    model = Ridge(alpha=np.asarray(grid), solver="svd").fit(x[split.train], tiled)
    predicted = np.asarray(model.predict(x[split.val])).reshape(split.val.size, len(grid))  # 1-D for one alpha
    result = {}
    for column, alpha in enumerate(grid):
        column_values = predicted[:, column]
        if np.ptp(column_values) == 0 or np.ptp(y[split.val]) == 0:
            result[alpha] = math.nan
        else:
            result[alpha] = float(stats.spearmanr(column_values, y[split.val]).statistic)
    return result


def _best_alpha(scores: dict[float, float]) -> float:
    """Alpha with the highest SRCC; NaN counts as worst; ties go to the larger alpha."""
    best_alpha, best_score = max(scores), -math.inf
    for alpha in sorted(scores):
        score = scores[alpha]
        if not math.isnan(score) and score >= best_score:
            best_alpha, best_score = alpha, score
    return best_alpha


def _check_data(features: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(targets, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"features must be 2-D (N, D), got shape {x.shape}")
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"targets must have shape ({x.shape[0]},) like features {x.shape}, got {y.shape}")
    for name, values in (("features", x), ("targets", y)):
        bad = np.count_nonzero(~np.isfinite(values))
        if bad:
            raise ValueError(f"{name} contain {bad} non-finite values (NaN or inf)")
    return x, y


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
