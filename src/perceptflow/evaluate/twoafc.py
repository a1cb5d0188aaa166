"""Perceptual-similarity benchmarks: BAPPS-style 2AFC score and JND mAP (Zhang et al., LPIPS/BAPPS, CVPR 2018).

Both follow the LPIPS reference code (richzhang/PerceptualSimilarity ``lpips/trainer.py``:
``score_2afc_dataset``, ``score_jnd_dataset`` and ``voc_ap``). Written out here because neither scipy nor
scikit-learn has them: the 2AFC score weighs each triplet by the fraction of humans who agree and gives ties
half credit, and ``sklearn.metrics.average_precision_score`` has no monotone precision envelope (VOC AP).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def score_2afc(d0: npt.ArrayLike, d1: npt.ArrayLike, judge: npt.ArrayLike) -> float:
    """Agreement of a distance with human two-alternative forced choices.

    Per triplet (reference, p0, p1): ``s = 1[d0 < d1] (1 - h) + 1[d1 < d0] h + 0.5 * 1[d0 == d1]``, where
    ``h`` is the fraction of humans who judged p1 closer to the reference; the score is the mean of ``s``
    (LPIPS prints it x100). Ties get 0.5, as in LPIPS (pyiqa counts them as "p0 closer").

    Args:
        d0, d1: (N,) distances of p0 and p1 from the reference (lower = more similar).
        judge: (N,) fraction of humans preferring p1, in [0, 1].

    Raises:
        ValueError: shapes differ, the arrays are empty, values are NaN, or ``judge`` leaves [0, 1].
    """
    a, b, h = (np.asarray(v, dtype=np.float64) for v in (d0, d1, judge))
    if not (a.ndim == 1 and a.shape == b.shape == h.shape) or a.size == 0:
        raise ValueError(
            f"score_2afc: d0, d1, judge must be non-empty 1-D of one length, got {a.shape}, {b.shape}, {h.shape}"
        )
    if np.isnan(a).any() or np.isnan(b).any():
        raise ValueError("score_2afc: d0 or d1 contains NaN")
    if not np.all((h >= 0) & (h <= 1)):
        raise ValueError(f"score_2afc: judge must lie in [0, 1], got range [{h.min()}, {h.max()}]")
    scores = (a < b) * (1.0 - h) + (b < a) * h + (a == b) * 0.5
    return float(scores.mean())


def jnd_map(distances: npt.ArrayLike, same: npt.ArrayLike) -> float:
    """Average precision of a distance at ranking "identical-looking" pairs first (JND mAP).

    Pairs are sorted by distance, ascending (stable, so ties keep input order); ``same`` (the fraction of
    humans who saw no difference) is a soft positive label: TP = cumsum(same), FP = cumsum(1 - same).
    AP is VOC-style: sum over recall steps of delta-recall times the monotone precision envelope.

    Args:
        distances: (N,) distance per pair (lower = more similar).
        same: (N,) fraction of judgements "same", in [0, 1]; at least one must be > 0.

    Raises:
        ValueError: shapes differ, empty input, NaN distances, ``same`` outside [0, 1] or all zero.
    """
    d, s = np.asarray(distances, dtype=np.float64), np.asarray(same, dtype=np.float64)
    if not (d.ndim == 1 and d.shape == s.shape) or d.size == 0:
        raise ValueError(f"jnd_map: distances and same must be non-empty 1-D of one length, got {d.shape}, {s.shape}")
    if np.isnan(d).any():
        raise ValueError("jnd_map: distances contain NaN")
    if not np.all((s >= 0) & (s <= 1)) or s.sum() == 0:
        raise ValueError(f"jnd_map: same must lie in [0, 1] with at least one > 0, got sum {s.sum()}")
    ordered = s[np.argsort(d, kind="stable")]
    true_pos = np.cumsum(ordered)
    false_pos = np.cumsum(1.0 - ordered)
    precision = true_pos / (true_pos + false_pos)
    recall = true_pos / ordered.sum()
    return voc_ap(recall, precision)


def voc_ap(recall: np.ndarray, precision: np.ndarray) -> float:
    """VOC average precision (area under the monotone precision envelope), as LPIPS ``voc_ap``."""
    rec = np.concatenate(([0.0], recall, [1.0]))
    prec = np.concatenate(([0.0], precision, [0.0]))
    envelope = np.maximum.accumulate(prec[::-1])[::-1]
    steps = np.flatnonzero(rec[1:] != rec[:-1])
    return float(np.sum((rec[steps + 1] - rec[steps]) * envelope[steps + 1]))
