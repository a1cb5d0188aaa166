"""Agreement between predicted and target quality: SRCC, PLCC, KRCC, RMSE (scipy / sklearn)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import stats
from sklearn.metrics import root_mean_squared_error

from perceptflow.evaluate.logistic import LogisticFit, fit_logistic4

#: Keys of :func:`correlation_metrics`, in order.
METRIC_KEYS = ("srcc", "plcc", "plcc_logistic", "krcc", "rmse", "n")

ArrayLike = npt.ArrayLike


class ConstantInputError(ValueError):
    """A correlation is undefined because one input is constant; the message names the input."""


def check_pair(
    a: ArrayLike, b: ArrayLike, *, metric: str, names: tuple[str, str] = ("a", "b"), allow_inf: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Validate two paired 1-D samples for ``metric`` and return them as float64 arrays.

    Raises:
        ValueError: not 1-D, lengths differ, fewer than 2 values, NaN (or inf unless ``allow_inf``).
        ConstantInputError: either sample is constant, so a correlation is undefined.
    """
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    for name, values in zip(names, (x, y), strict=True):
        if values.ndim != 1:
            raise ValueError(f"{metric}: {name} must be 1-D, got shape {values.shape}")
    if x.shape != y.shape:
        raise ValueError(f"{metric}: {names[0]} and {names[1]} differ in length ({x.size} vs {y.size})")
    if x.size < 2:
        raise ValueError(f"{metric}: needs at least 2 paired values, got {x.size}")
    for name, values in zip(names, (x, y), strict=True):
        n_nan = int(np.count_nonzero(np.isnan(values)))
        n_inf = int(np.count_nonzero(np.isinf(values)))
        if n_nan or (n_inf and not allow_inf):
            raise ValueError(f"{metric}: {name} has {n_nan} NaN and {n_inf} infinite values of {values.size}")
        if np.all(values == values[0]):
            raise ConstantInputError(
                f"{metric} is undefined: {name} is constant (all {values.size} values equal {values[0]:.6g})"
            )
    return x, y


def srcc(a: ArrayLike, b: ArrayLike) -> float:
    """Spearman rank correlation (``scipy.stats.spearmanr``); infinite values are ranked like any other."""
    x, y = check_pair(a, b, metric="srcc", allow_inf=True)
    return float(stats.spearmanr(x, y).statistic)


def plcc(a: ArrayLike, b: ArrayLike) -> float:
    """Pearson linear correlation (``scipy.stats.pearsonr``)."""
    x, y = check_pair(a, b, metric="plcc")
    return float(stats.pearsonr(x, y).statistic)


def krcc(a: ArrayLike, b: ArrayLike) -> float:
    """Kendall rank correlation, tau-b (``scipy.stats.kendalltau``)."""
    x, y = check_pair(a, b, metric="krcc", allow_inf=True)
    return float(stats.kendalltau(x, y).statistic)


def rmse(a: ArrayLike, b: ArrayLike) -> float:
    """Root mean squared difference (``sklearn.metrics.root_mean_squared_error``); constant input is fine."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape or x.size == 0:
        raise ValueError(f"rmse: needs two non-empty 1-D arrays of equal length, got {x.shape} and {y.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("rmse: inputs contain NaN or infinite values")
    return float(root_mean_squared_error(y, x))


def plcc_logistic(pred: ArrayLike, target: ArrayLike) -> float:
    """PLCC after mapping ``pred`` onto ``target`` with the VQEG 4-parameter logistic (``fit_logistic4``)."""
    x, y = check_pair(pred, target, metric="plcc_logistic", names=("pred", "target"))
    return plcc(fit_logistic4(x, y)(x), y)


def metrics_with_fit(pred: ArrayLike, target: ArrayLike) -> tuple[dict[str, float], LogisticFit]:
    """:func:`correlation_metrics` plus the logistic fit behind ``plcc_logistic`` (to record fallbacks)."""
    x, y = check_pair(pred, target, metric="correlation_metrics", names=("pred", "target"))
    fit = fit_logistic4(x, y)
    metrics = {
        "srcc": srcc(x, y),
        "plcc": plcc(x, y),
        "plcc_logistic": plcc(fit(x), y),
        "krcc": krcc(x, y),
        "rmse": rmse(x, y),
        "n": x.size,
    }
    return metrics, fit


def correlation_metrics(pred: ArrayLike, target: ArrayLike) -> dict[str, float]:
    """SRCC, PLCC (raw and after a 4-parameter logistic), KRCC, RMSE (pred vs target, raw) and n.

    Raises:
        ValueError: bad shapes or non-finite values; ConstantInputError when an input is constant.
    """
    return metrics_with_fit(pred, target)[0]


def orient(values: ArrayLike, higher_is_better: bool) -> np.ndarray:
    """Values as float64 in quality orientation (higher = better): unchanged, or negated."""
    array = np.asarray(values, dtype=np.float64)
    return array if higher_is_better else -array
