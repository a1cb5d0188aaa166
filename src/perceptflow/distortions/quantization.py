"""Quantisation (KADID-10k type 22): multi-level Otsu thresholds over all RGB values, then ``imquantize``."""

from __future__ import annotations

import numpy as np

from perceptflow.distortions._ops import to_uint8
from perceptflow.types import FloatImage

_BINS = 256


def quantization(image: FloatImage, n_thresholds: float, rng: np.random.Generator) -> FloatImage:
    """Quantise every RGB value with ``n_thresholds`` Otsu thresholds t1 < ... < tN (N + 1 output values).

    MATLAB ``imnoisequantize``: ``imquantize(I, t, [0 t(2:end) 1])``: values <= t1 become 0, values in
    (t(k-1), t(k)] become t(k), values above tN become 1. Thresholds come from the whole image's histogram.
    """
    n = round(n_thresholds)
    if not 1 <= n < _BINS:
        raise ValueError(f"number of quantisation thresholds must be within 1..{_BINS - 1}, got {n_thresholds}")
    values = to_uint8(image)
    last_bins = multi_otsu_bins(np.bincount(values.ravel(), minlength=_BINS), n)
    outputs = np.concatenate([[0.0], last_bins[1:] / 255.0, [1.0]]).astype(image.dtype)
    return outputs[np.searchsorted(last_bins, values, side="left")]


def multi_otsu_bins(hist: np.ndarray, n_thresholds: int) -> np.ndarray:
    """Exact multi-level Otsu: the last bin of each of the first ``n_thresholds`` classes.

    Otsu's criterion (maximal between-class variance) equals minimal within-class sum of squares over
    contiguous histogram classes, solved exactly by dynamic programming in O(classes * bins²).
    skimage's ``threshold_multiotsu`` searches all threshold tuples, which is infeasible for up to 20
    thresholds, so this is written out.
    """
    bins = hist.shape[0]
    value = np.arange(bins, dtype=np.float64)
    weight = np.concatenate([[0.0], np.cumsum(hist, dtype=np.float64)])
    first = np.concatenate([[0.0], np.cumsum(hist * value)])
    second = np.concatenate([[0.0], np.cumsum(hist * value**2)])
    start, stop = np.arange(bins)[:, None], np.arange(bins)[None, :] + 1  # class = bins start..stop-1
    mass = weight[stop] - weight[start]
    with np.errstate(invalid="ignore", divide="ignore"):
        cost = second[stop] - second[start] - np.where(mass > 0, (first[stop] - first[start]) ** 2 / mass, 0.0)
    cost = np.where(start < stop, np.maximum(cost, 0.0), np.inf)  # cost[i, j]: one class over bins i..j
    best = cost[0].copy()  # best[j]: one class over bins 0..j
    choices = []
    for _ in range(n_thresholds):  # add one class at a time; each step is a vectorised min over split points
        total = best[:-1, None] + cost[1:, :]  # split after bin i (row i), new class i+1..j (column j)
        choices.append(np.argmin(total, axis=0))
        best = np.concatenate([[np.inf], total.min(axis=0)[1:]])
    ends, end = [], bins - 1
    for choice in reversed(choices):
        end = int(choice[end])
        ends.append(end)
    return np.array(ends[::-1], dtype=np.int64)
