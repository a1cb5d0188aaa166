"""Score a BAPPS download (Zhang et al., CVPR 2018) with learned metric files and the pixel baselines.

Every score is a distance from the reference (lower = more similar): a metric file's full-reference distance
(`perceptflow.metric`, the exported ``fr.pt``), ``-PSNR`` and ``1 - SSIM`` on 8-bit luminance (the evaluate
stage's conventions). 2AFC (``2afc/<split>/<subset>``): d(ref, p0) against d(ref, p1), scored against the human
judgement with LPIPS's 2AFC score; JND (``jnd/val/<subset>``): d(p0, p1) ranked against "same" with JND mAP
(`perceptflow.evaluate.twoafc`). Reported per subset and as the mean over subsets (LPIPS's tables).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from perceptflow.data.rated.bapps import load_bapps
from perceptflow.evaluate.full_reference import full_reference_baselines
from perceptflow.evaluate.twoafc import jnd_map, score_2afc
from perceptflow.metric.learned import load_metric
from perceptflow.metric.scoring import score_files
from perceptflow.types import PathLikeStr

#: Pixel baselines scored beside the learned metrics (MS-SSIM and the other piq metrics need larger images than
#: BAPPS's 64 x 64 patches).
BASELINES = ("psnr", "ssim")
#: A distance function of (reference paths, distorted paths) -> (N,) distances.
Distance = Callable[[Sequence[str], Sequence[str]], np.ndarray]


def score_bapps(
    root: PathLikeStr,
    metric_files: Mapping[str, PathLikeStr],
    *,
    splits: Sequence[str] = ("val",),
    threads: int = 1,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
    progress: bool = False,
) -> dict[str, Any]:
    """2AFC score and JND mAP of every metric file (by name) and of `BASELINES` on the BAPPS folder ``root``.

    Returns:
        ``{"n_triplets", "n_jnd_pairs", "subsets", "twoafc": {name: {"mean", "per_subset"}}, "jnd_map": {...}}``;
        ``jnd_map`` is empty when the download has no ``jnd/val``.

    Raises:
        perceptflow.data.rated.LayoutError: the layout is incomplete (naming the missing file or folder).
        perceptflow.metric.MetricFileError: a metric file is not one.
    """
    data = load_bapps(Path(root), splits=tuple(splits))
    distances: dict[str, Distance] = {name: _pixel(name, threads) for name in BASELINES}
    for name, path in sorted(metric_files.items()):
        distances[name] = _learned(load_metric(path, device=device), batch_size, progress, name)
    twoafc_subsets = data.twoafc["split"] + "/" + data.twoafc["subset"]
    result: dict[str, Any] = {
        "n_triplets": len(data.twoafc),
        "n_jnd_pairs": len(data.jnd),
        "subsets": {"twoafc": sorted(set(twoafc_subsets)), "jnd": sorted(set(data.jnd["subset"]))},
        "twoafc": {},
        "jnd_map": {},
    }
    judge = data.twoafc["judge"].to_numpy(dtype=np.float64)
    same = data.jnd["same"].to_numpy(dtype=np.float64)
    # p0 and p1 of a triplet side by side in one call: each reference is read and encoded once for both
    refs = [ref for ref in data.twoafc["ref"] for _ in range(2)]
    pairs = [path for pair in zip(data.twoafc["p0"], data.twoafc["p1"], strict=True) for path in pair]
    for name, distance in distances.items():
        both = distance(refs, pairs)
        result["twoafc"][name] = _per_subset(twoafc_subsets, score_2afc, both[0::2], both[1::2], judge)
        if len(data.jnd):
            d = distance(list(data.jnd["p0"]), list(data.jnd["p1"]))
            result["jnd_map"][name] = _per_subset(data.jnd["subset"], jnd_map, d, same)
    return result


def _per_subset(subsets: pd.Series, score: Callable[..., float], *columns: np.ndarray) -> dict[str, Any]:
    """``score`` of each subset's rows of ``columns``, and their mean."""
    labels = subsets.to_numpy()
    per_subset = {str(s): score(*(c[labels == s] for c in columns)) for s in sorted(set(labels.tolist()))}
    return {"mean": float(np.mean(list(per_subset.values()))), "per_subset": per_subset}


def _pixel(name: str, threads: int) -> Distance:
    def distance(refs: Sequence[str], dists: Sequence[str]) -> np.ndarray:
        scores = full_reference_baselines(refs, dists, threads=threads)[name].to_numpy(dtype=np.float64)
        return -scores if name == "psnr" else 1.0 - scores

    return distance


def _learned(metric: Any, batch_size: int, progress: bool, name: str) -> Distance:
    def distance(refs: Sequence[str], dists: Sequence[str]) -> np.ndarray:
        return score_files(metric, dists, refs, batch_size=batch_size, progress=progress, desc=name)

    return distance
