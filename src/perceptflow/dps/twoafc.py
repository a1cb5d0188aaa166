"""2AFC scores of full-reference metrics on a DPS triplet set (the ``evaluate_dps_2afc`` rule).

Every metric is a distance from the reference (lower = more similar): PSNR and SSIM on 8-bit luminance as
``-PSNR`` and ``1 - SSIM`` (the evaluate stage's conventions), and each encoder's two-scale feature distance
(``evaluate.fr_distance``). The score is LPIPS's 2AFC score (:func:`perceptflow.evaluate.twoafc.score_2afc`,
ties count 0.5), overall and per context.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from perceptflow.evaluate.full_reference import full_reference_baselines
from perceptflow.evaluate.twoafc import score_2afc
from perceptflow.features.extract import encode_images
from perceptflow.models import load_encoder
from perceptflow.types import PathLikeStr

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("triplet_id", "context", "ref_path", "p0_path", "p1_path", "judge")
FEATURE_DISTANCES = ("l2", "l1", "cosine")
#: A metric's distances of p0 and p1 from the reference, one entry per triplet.
Distances = tuple[np.ndarray, np.ndarray]


def load_triplets(csv_path: PathLikeStr) -> pd.DataFrame:
    """The triplet CSV with image paths resolved against its folder.

    Raises:
        ValueError: missing columns, a judge outside [0, 1] or missing image files (naming the CSV).
    """
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise ValueError(f"DPS triplet CSV not found: {csv_path}")
    frame = pd.read_csv(csv_path)
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{csv_path}: missing column(s) {missing}; found {list(frame.columns)}")
    if frame.empty:
        raise ValueError(f"{csv_path}: no triplets")
    judge = pd.to_numeric(frame["judge"], errors="coerce")
    if judge.isna().any() or not judge.between(0, 1).all():
        raise ValueError(f"{csv_path}: column 'judge' must be numbers in [0, 1]")
    frame = frame.assign(judge=judge.astype(float))
    for column in ("ref_path", "p0_path", "p1_path"):
        frame[column] = [str(csv_path.parent / p) for p in frame[column]]
    absent = sorted({p for c in ("ref_path", "p0_path", "p1_path") for p in frame[c] if not Path(p).is_file()})
    if absent:
        raise ValueError(f"{csv_path}: {len(absent)} image file(s) do not exist, e.g. {absent[:3]}")
    return frame


def pixel_distances(triplets: pd.DataFrame, *, threads: int = 1) -> dict[str, Distances]:
    """``psnr`` (as -PSNR) and ``ssim`` (as 1 - SSIM) distances of p0 and p1 from the reference."""
    refs = list(triplets["ref_path"])
    scores = [full_reference_baselines(refs, list(triplets[c]), threads=threads) for c in ("p0_path", "p1_path")]
    return {
        "psnr": (-scores[0]["psnr"].to_numpy(), -scores[1]["psnr"].to_numpy()),
        "ssim": (1.0 - scores[0]["ssim"].to_numpy(), 1.0 - scores[1]["ssim"].to_numpy()),
    }


def feature_distances(
    triplets: pd.DataFrame,
    encoder_path: PathLikeStr,
    *,
    metric: str = "l2",
    batch_size: int = 64,
    device: torch.device | None = None,
) -> Distances:
    """Distances between the frozen two-scale features of p0/p1 and of the reference (each image encoded once).

    Raises:
        ValueError: ``metric`` is not one of :data:`FEATURE_DISTANCES` (naming ``evaluate.fr_distance``).
    """
    if metric not in FEATURE_DISTANCES:
        raise ValueError(f"evaluate.fr_distance must be one of {FEATURE_DISTANCES}, got {metric!r}")
    encoder, _ = load_encoder(encoder_path)
    columns = ("ref_path", "p0_path", "p1_path")
    unique = list(dict.fromkeys(p for c in columns for p in triplets[c]))
    features = encode_images(encoder, unique, batch_size=batch_size, device=device, desc=Path(encoder_path).parent.name)
    row = {path: i for i, path in enumerate(unique)}
    ref, p0, p1 = (features[[row[p] for p in triplets[c]]] for c in columns)
    return _distance(ref, p0, metric), _distance(ref, p1, metric)


def score_triplet_table(triplets: pd.DataFrame, distances: Mapping[str, Distances]) -> dict[str, Any]:
    """2AFC score of every metric (ties count 0.5), overall and per context, with the number of ties."""
    judge = triplets["judge"].to_numpy(dtype=np.float64)
    contexts = triplets["context"].to_numpy()
    result: dict[str, Any] = {"score_2afc": {}, "per_context": {}, "ties": {}}
    for name, (d0, d1) in distances.items():
        result["score_2afc"][name] = score_2afc(d0, d1, judge)
        result["ties"][name] = int(np.sum(d0 == d1))
        for context in sorted(set(contexts.tolist())):
            rows = contexts == context
            result["per_context"].setdefault(str(context), {})[name] = score_2afc(d0[rows], d1[rows], judge[rows])
    return result


def _distance(a: np.ndarray, b: np.ndarray, metric: str) -> np.ndarray:
    if metric == "l1":
        return np.abs(a - b).sum(axis=1)
    if metric == "cosine":
        norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
        return 1.0 - (a * b).sum(axis=1) / np.maximum(norms, 1e-12)
    return np.linalg.norm(a - b, axis=1)
