"""Ridge from Gram matrices: X^T X and X^T y accumulated over row blocks, one eigendecomposition for every alpha.

Sums are float64 over shifted rows (x - c, y - d, with c the mean of the first rows and d the mean target), which
keeps the centring below well conditioned; centring itself matches ``sklearn.linear_model.Ridge``
(``fit_intercept=True``): the coefficients solve (Xc^T Xc + alpha I) w = Xc^T yc on the train rows centred by
their own means, and the intercept is mean(y) - mean(x) . w.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg

from perceptflow.regress.blocks import fold_blocks

#: Rows averaged for the shift c.
SHIFT_ROWS = 1024


@dataclass
class RowStats:
    """Sums over one set of rows of shifted features x and targets y (float64)."""

    count: int
    sum_x: np.ndarray  # (D,)
    sum_y: float
    gram: np.ndarray  # (D, D): sum of x x^T
    xty: np.ndarray  # (D,): sum of x y

    def add_(self, other: RowStats) -> RowStats:
        """In-place sum (returns self)."""
        self.count += other.count
        self.sum_x += other.sum_x
        self.sum_y += other.sum_y
        self.gram += other.gram
        self.xty += other.xty
        return self


@dataclass(frozen=True)
class Shift:
    """Offsets subtracted before accumulation: c (D,) from the features, d from the targets."""

    x: np.ndarray
    y: float


def accumulate(
    features: Any, targets: np.ndarray, shift: Shift, row_sets: Sequence[np.ndarray | None]
) -> tuple[list[RowStats], int]:
    """Stats of each row set (sorted row indices; None for every row) and the count of non-finite features.

    Non-finite values are counted on the all-rows sets only (give one None to check them).
    """
    fn = functools.partial(_block_stats, targets=targets, shift=shift, row_sets=tuple(row_sets))
    return fold_blocks(features, fn, _sum_stats)


def ridge_path(stats: RowStats, shift: Shift, alphas: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients (D, A) and intercepts (A,) of ridge fits of the rows in ``stats``, one column per alpha.

    One eigendecomposition of the centred Gram matrix serves every alpha; it overwrites ``stats.gram`` (no D x D
    copy). Directions whose eigenvalue is below ``D * eps * max eigenvalue`` are numerically null and get a zero
    coefficient (as the minimum-norm solution of alpha = 0 would; for alpha > 0 their share is at rounding level).
    """
    mean_x = stats.sum_x / stats.count
    mean_y = stats.sum_y / stats.count
    gram = stats.gram
    gram -= stats.count * np.outer(mean_x, mean_x)
    xty = stats.xty - stats.count * mean_x * mean_y
    # Symmetric, so its transpose is the same matrix in Fortran order: LAPACK works in place.
    eigenvalues, vectors = scipy.linalg.eigh(gram.T, overwrite_a=True, check_finite=False, driver="evd")
    del gram, stats.gram
    eigenvalues = np.clip(eigenvalues, 0.0, None)
    projected = vectors.T @ xty
    null = eigenvalues <= eigenvalues.max(initial=0.0) * len(eigenvalues) * np.finfo(np.float64).eps
    grid = np.asarray(alphas, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = projected[:, None] / (eigenvalues[:, None] + grid[None, :])
    scaled[null] = 0.0
    coefs = vectors @ scaled
    intercepts = (mean_y + shift.y) - (mean_x + shift.x) @ coefs
    return coefs, intercepts


def train_stats(total: RowStats, part: RowStats, part_is_train: bool) -> RowStats:
    """The train rows' stats: ``part`` itself, or ``total - part`` computed into ``part``'s arrays (no new D x D)."""
    if part_is_train:
        return part
    np.subtract(total.gram, part.gram, out=part.gram)
    return RowStats(
        total.count - part.count, total.sum_x - part.sum_x, total.sum_y - part.sum_y, part.gram, total.xty - part.xty
    )


def predict_rows(features: Any, rows: np.ndarray, coefs: np.ndarray, intercepts: np.ndarray) -> np.ndarray:
    """Predictions (len(rows), A) of the sorted ``rows`` under each coefficient column, streamed by blocks."""
    if rows.size == 0:
        return np.empty((0, coefs.shape[1]))
    fn = functools.partial(_block_predictions, rows=rows, coefs=coefs)
    return fold_blocks(features, fn, _concatenate) + intercepts[None, :]


def _rows_in_block(rows: np.ndarray | None, start: int, stop: int) -> np.ndarray | slice:
    if rows is None:
        return slice(None)
    lo, hi = np.searchsorted(rows, [start, stop])
    return rows[lo:hi] - start


def _block_stats(
    start: int, block: np.ndarray, *, targets: np.ndarray, shift: Shift, row_sets: tuple[np.ndarray | None, ...]
) -> tuple[list[RowStats], int]:
    bad = 0 if all(r is not None for r in row_sets) else int(np.count_nonzero(~np.isfinite(block)))
    x = np.asarray(block, dtype=np.float64) - shift.x
    y = targets[start : start + len(x)] - shift.y
    stats = []
    for rows in row_sets:
        pick = _rows_in_block(rows, start, start + len(x))
        xs, ys = (x, y) if isinstance(pick, slice) else (x[pick], y[pick])
        stats.append(RowStats(len(xs), xs.sum(axis=0), float(ys.sum()), xs.T @ xs, xs.T @ ys))
    return stats, bad


def _sum_stats(parts: Sequence[tuple[list[RowStats], int]]) -> tuple[list[RowStats], int]:
    first, bad = parts[0]
    for stats, more_bad in parts[1:]:
        first = [a.add_(b) for a, b in zip(first, stats, strict=True)]
        bad += more_bad
    return first, bad


def _block_predictions(start: int, block: np.ndarray, *, rows: np.ndarray, coefs: np.ndarray) -> np.ndarray:
    pick = _rows_in_block(rows, start, start + len(block))
    return np.asarray(block[pick], dtype=np.float64) @ coefs


def _concatenate(parts: Sequence[np.ndarray]) -> np.ndarray:
    return np.concatenate(list(parts), axis=0)
