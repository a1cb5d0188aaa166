"""VQEG 4-parameter logistic mapping from objective scores to subjective scores, before PLCC.

The curve is ``f(x) = (b1 - b2) * expit((x - b3) / |b4|) + b2`` (VQEG FR-TV Phase I; pyiqa
``logistic_4params``), fitted with ``scipy.optimize.curve_fit``.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize, special, stats

log = logging.getLogger(__name__)

#: Initial slopes tried, in units of the standard deviation of the scores.
_INITIAL_WIDTHS = (0.25, 1.0, 4.0)
_MIN_POINTS = 5


def logistic4(x: np.ndarray, b1: float, b2: float, b3: float, b4: float) -> np.ndarray:
    """VQEG logistic: tends to ``b2`` as x -> -inf and ``b1`` as x -> +inf; centre ``b3``, width ``|b4|``."""
    return (b1 - b2) * special.expit((x - b3) / np.abs(b4)) + b2


@dataclass(frozen=True)
class LogisticFit:
    """A fitted monotone map, callable on scores.

    Attributes:
        kind: "logistic4", or "linear" when the logistic fit failed (the fallback).
        params: (b1, b2, b3, b4) for "logistic4"; (slope, intercept) for "linear".
        reason: why the linear fallback was used; empty for a logistic fit.
    """

    kind: str
    params: tuple[float, ...]
    reason: str = ""

    @property
    def is_fallback(self) -> bool:
        """True when the logistic fit failed and the linear map is used instead."""
        return self.kind == "linear"

    def __call__(self, x: npt.ArrayLike) -> np.ndarray:
        """The fitted mapping applied to ``x``."""
        values = np.asarray(x, dtype=np.float64)
        if self.kind == "logistic4":
            return logistic4(values, *self.params)
        slope, intercept = self.params
        return slope * values + intercept


def fit_logistic4(pred: npt.ArrayLike, target: npt.ArrayLike) -> LogisticFit:
    """Fit the 4-parameter logistic from ``pred`` to ``target``; fall back to a linear map if it fails.

    Scores are standardised for the fit. Starts: asymptotes at the target's extremes, ordered by the sign
    of the rank correlation, centre at the mean, several widths; the lowest squared error wins. The linear
    least-squares map (``scipy.stats.linregress``) replaces it, with a logged warning and ``reason``, when
    there are fewer than 5 points, ``curve_fit`` does not converge from any start, or the best logistic fits
    worse than the line.

    Raises:
        ValueError: shapes differ, values are not finite, or ``pred`` is constant.
    """
    x, y = np.asarray(pred, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape or not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError(
            f"fit_logistic4: needs finite 1-D pred and target of equal length, got {x.shape} and {y.shape}"
        )
    if x.size < 2 or np.all(x == x[0]):
        raise ValueError(f"fit_logistic4: pred must hold at least 2 distinct values, got {np.unique(x).size}")
    line = stats.linregress(x, y)
    linear = LogisticFit("linear", (float(line.slope), float(line.intercept)))
    if x.size < _MIN_POINTS:
        return _fallback(linear, f"{x.size} points, fewer than {_MIN_POINTS}")
    mean, scale = float(x.mean()), float(x.std())
    z = (x - mean) / scale
    best, best_sse, errors = None, np.inf, []
    for p0 in _initial_guesses(z, y):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optimize.OptimizeWarning)
                params, _ = optimize.curve_fit(logistic4, z, y, p0=p0, maxfev=10000)
        except (RuntimeError, ValueError) as error:
            errors.append(str(error))
            continue
        sse = float(np.sum((logistic4(z, *params) - y) ** 2))
        if np.all(np.isfinite(params)) and sse < best_sse:
            best, best_sse = params, sse
    if best is None:
        detail = "; ".join(errors) or "non-finite parameters"
        return _fallback(linear, f"curve_fit did not converge: {detail}")
    if best_sse > float(np.sum((linear(x) - y) ** 2)) * (1 + 1e-9):
        return _fallback(linear, "logistic fit has a larger squared error than the linear map")
    b1, b2, b3, b4 = (float(v) for v in best)
    return LogisticFit("logistic4", (b1, b2, b3 * scale + mean, abs(b4) * scale))


def _initial_guesses(z: np.ndarray, y: np.ndarray) -> list[list[float]]:
    high, low = float(y.max()), float(y.min())
    if stats.spearmanr(z, y).statistic < 0:
        high, low = low, high
    return [[high, low, 0.0, width] for width in _INITIAL_WIDTHS]


def _fallback(linear: LogisticFit, reason: str) -> LogisticFit:
    log.warning("4-parameter logistic fit fell back to a linear map: %s", reason)
    return LogisticFit("linear", linear.params, reason)
