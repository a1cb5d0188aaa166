"""The NR head of a metric file: the regress stage's ridge, fitted once on all rows of a rated dataset.

Ridge (``sklearn.linear_model.Ridge``) on the features ``regress`` uses (`perceptflow.models.pooled_features`,
read from the extract stage's store); alpha is the one with the best mean validation SRCC over the dataset's
content splits (`perceptflow.regress.splits`), ties to the larger alpha as in `perceptflow.regress.ridge`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from sklearn.linear_model import Ridge

from perceptflow.metric.file import NR_PREPROCESSING
from perceptflow.regress.ridge import fit_ridge_on_splits
from perceptflow.regress.splits import Split


def choose_alpha(features: np.ndarray, targets: np.ndarray, splits: list[Split], alphas: Sequence[float]) -> float:
    """The alpha with the best mean validation SRCC over ``splits`` (NaN ignored; ties to the larger alpha)."""
    result = fit_ridge_on_splits(features, targets, splits, alphas)
    grid = sorted(next(iter(result.val_srcc.values())))
    means = {a: np.nanmean([scores[a] for scores in result.val_srcc.values()]) for a in grid}
    best, best_score = grid[-1], -math.inf
    for alpha in grid:
        if np.isfinite(means[alpha]) and means[alpha] >= best_score:
            best, best_score = alpha, float(means[alpha])
    return best


def fit_nr_head(
    features: np.ndarray,
    targets: np.ndarray,
    splits: list[Split],
    *,
    alphas: Sequence[float],
    dataset: str,
    target: str,
    higher_is_better: bool,
) -> dict[str, Any]:
    """Ridge on all rows of a rated dataset, alpha from its content splits (`choose_alpha`); the file's ``nr``."""
    alpha = choose_alpha(features, targets, splits, alphas)
    x = np.asarray(features, dtype=np.float64)
    model = Ridge(alpha=alpha).fit(x, np.asarray(targets, dtype=np.float64))
    fitted = model.predict(x)
    return {
        "preprocessing": NR_PREPROCESSING,
        "coef": torch.from_numpy(np.asarray(model.coef_, dtype=np.float64).copy()),
        "intercept": float(model.intercept_),
        "alpha": float(alpha),
        "alphas": [float(a) for a in alphas],
        "dataset": dataset,
        "target": target,
        "higher_is_better": bool(higher_is_better),
        "n_rows": len(x),
        "fit_range": [float(fitted.min()), float(fitted.max())],
        "target_range": [float(np.min(targets)), float(np.max(targets))],
    }
