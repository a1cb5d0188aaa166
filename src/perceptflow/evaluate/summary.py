"""Summaries over content-separated splits: ridge (no-reference) predictions and zero-shot scores."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from perceptflow.evaluate.correlation import (
    METRIC_KEYS,
    check_pair,
    krcc,
    metrics_with_fit,
    orient,
    plcc,
    srcc,
)
from perceptflow.evaluate.logistic import fit_logistic4
from perceptflow.regress.ridge import PREDICTION_COLUMNS
from perceptflow.regress.splits import Split

#: Keys of the zero-shot metrics, computed per split and over all rows.
ZERO_SHOT_KEYS = ("srcc", "krcc", "plcc", "plcc_logistic", "n")
_MIN_TYPE_ROWS = 3


def summarize_nr(result_predictions: pd.DataFrame, *, subset: str = "test", types: pd.Series | None = None) -> dict:
    """Correlation metrics of ridge predictions per split, aggregated over splits.

    Args:
        result_predictions: the long table of :class:`perceptflow.regress.RidgeResult`.
        subset: which rows to score ("test" by default).
        types: a label per feature row (indexed by ``row``), e.g. distortion type names.

    Returns:
        For each key ``m`` of :func:`correlation_metrics`: ``m_median``, ``m_mean``, ``m_std`` (sample std,
        0 for one split); ``n_splits``; ``logistic_fallbacks`` (splits whose logistic fell back to a line);
        ``per_split`` (one dict per split); with ``types``: ``srcc_per_type`` (median over splits of the SRCC
        within each type; a type/split with < 3 rows or a constant target or prediction is skipped) and
        ``srcc_per_type_skipped`` (how many were).

    Raises:
        ValueError: missing columns, no rows of ``subset``, or a split whose metrics are undefined.
    """
    missing = sorted(set(PREDICTION_COLUMNS) - set(result_predictions.columns))
    if missing:
        raise ValueError(f"predictions table lacks columns {missing}; has {list(result_predictions.columns)}")
    rows = result_predictions[result_predictions["subset"] == subset]
    if rows.empty:
        present = sorted(result_predictions["subset"].unique().tolist())
        raise ValueError(f"predictions table has no {subset!r} rows; subsets present: {present}")
    per_split, fallbacks = [], 0
    for split, group in rows.groupby("split", sort=True):
        try:
            metrics, fit = metrics_with_fit(group["prediction"].to_numpy(), group["target"].to_numpy())
        except ValueError as error:
            raise ValueError(f"split {split} ({subset} rows): {error}") from error
        per_split.append({"split": int(split), **metrics})
        fallbacks += fit.is_fallback
    summary: dict[str, Any] = dict(aggregate(per_split, METRIC_KEYS))
    summary.update({"n_splits": len(per_split), "logistic_fallbacks": fallbacks, "per_split": per_split})
    if types is not None:
        summary.update(srcc_per_type(rows, types))
    return summary


def summarize_zero_shot(
    scores: np.ndarray,
    targets: np.ndarray,
    *,
    score_higher_is_better: bool,
    target_higher_is_better: bool,
    splits: list[Split] | None = None,
    types: np.ndarray | None = None,
) -> dict:
    """Agreement of a score that needs no training (PSNR, SSIM, a feature distance) with the targets.

    Both are oriented so that higher means better quality, so positive correlations mean agreement.
    Infinite scores (PSNR of identical images) are ranked for SRCC/KRCC and left out of the PLCCs;
    ``n_infinite`` counts them.

    Args:
        scores: (N,) objective scores. targets: (N,) subjective or synthetic quality.
        score_higher_is_better, target_higher_is_better: orientation of each.
        splits: when given, also ``{m}_median``/``_mean``/``_std`` and ``per_split`` over each split's
            test rows, the rows the ridge regressor is scored on.
        types: (N,) labels; adds ``srcc_per_type`` as in :func:`summarize_nr` (over each split's test rows
            when ``splits`` is given, else over all rows as one group).

    Returns:
        ``srcc``, ``krcc``, ``plcc``, ``plcc_logistic``, ``n``, ``n_infinite`` over all rows, plus the above.
    """
    s = orient(scores, score_higher_is_better)
    t = orient(targets, target_higher_is_better)
    check_pair(s, t, metric="summarize_zero_shot", names=("scores", "targets"), allow_inf=True)
    summary: dict = {**zero_shot_metrics(s, t), "n_infinite": int(np.count_nonzero(np.isinf(s)))}
    parts = [(0, np.arange(s.size))] if splits is None else [(sp.index, sp.test) for sp in splits]
    if splits is not None:
        per_split = []
        for index, rows in parts:
            try:
                per_split.append({"split": int(index), **zero_shot_metrics(s[rows], t[rows])})
            except ValueError as error:
                raise ValueError(f"split {index} (test rows): {error}") from error
        summary.update(aggregate(per_split, ZERO_SHOT_KEYS), n_splits=len(per_split), per_split=per_split)
    if types is not None:
        labels = np.asarray(types)
        if labels.shape != s.shape:
            raise ValueError(f"types must have shape {s.shape} like scores, got {labels.shape}")
        frame = pd.concat(
            [pd.DataFrame({"split": i, "row": rows, "target": t[rows], "prediction": s[rows]}) for i, rows in parts],
            ignore_index=True,
        )
        summary.update(srcc_per_type(frame, pd.Series(labels)))
    return summary


def zero_shot_metrics(scores: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """SRCC and KRCC over all rows; PLCC raw and after the logistic over the rows with finite scores."""
    finite = np.isfinite(scores)
    x, y = check_pair(scores[finite], targets[finite], metric="plcc", names=("finite scores", "targets"))
    fitted = fit_logistic4(x, y)(x)
    return {
        "srcc": srcc(scores, targets),
        "krcc": krcc(scores, targets),
        "plcc": plcc(x, y),
        "plcc_logistic": plcc(fitted, y),
        "n": int(scores.size),
    }


def srcc_per_type(rows: pd.DataFrame, types: pd.Series) -> dict:
    """Median over splits of the SRCC within each type, and the count of skipped (type, split) pairs."""
    row_ids = rows["row"].to_numpy()
    unknown = row_ids[~np.isin(row_ids, types.index.to_numpy())]
    if unknown.size:
        raise ValueError(f"types has no entry for {unknown.size} predicted rows, e.g. row {unknown[0]}")
    frame = rows.assign(type=types.loc[row_ids].astype(str).to_numpy())
    per_type: dict[str, list[float]] = {}
    skipped = 0
    for (label, _split), group in frame.groupby(["type", "split"], sort=True):
        target, prediction = group["target"].to_numpy(), group["prediction"].to_numpy()
        if len(group) < _MIN_TYPE_ROWS or _is_constant(target) or _is_constant(prediction):
            skipped += 1
            continue
        per_type.setdefault(str(label), []).append(srcc(prediction, target))
    medians = {label: float(np.median(values)) for label, values in per_type.items()}
    return {"srcc_per_type": medians, "srcc_per_type_skipped": skipped}


def aggregate(per_split: list[dict], keys: Iterable[str]) -> dict[str, float]:
    """``{key}_median``, ``{key}_mean`` and ``{key}_std`` (sample, ddof=1; 0 for one split) of each key."""
    summary = {}
    for key in keys:
        values = np.asarray([record[key] for record in per_split], dtype=np.float64)
        summary[f"{key}_median"] = float(np.median(values))
        summary[f"{key}_mean"] = float(np.mean(values))
        summary[f"{key}_std"] = float(np.std(values, ddof=1)) if values.size > 1 else 0.0
    return summary


def _is_constant(values: np.ndarray) -> bool:
    return bool(np.all(values == values[0]))
