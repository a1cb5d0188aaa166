"""Full-reference baselines from piq (Kastryulin et al., "PyTorch Image Quality", 2022): MS-SSIM, VIF-p, FSIM, GMSD.

Computed on RGB scaled to [0, 1] with piq's defaults (no weights are downloaded), the convention under which
../shared/data/live-jpeg-dev/README.md states its values. A metric needs images of at least ``min_size`` pixels on
each side (MS-SSIM: 161 = (11 - 1) * 2^4 + 1, five scales of an 11-tap window; VIF-p: 41); below it the metric is
skipped for the whole dataset with the reason recorded, never scored on a subset. piq and torch are imported only
when scores are computed, so the torch-free evaluate rules can read the metric table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from perceptflow.data.images import load_rgb
from perceptflow.types import PathLikeStr

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class PiqMetric:
    """A piq function by name, its direction and the smallest image side it accepts."""

    function: str
    label: str
    lower_better: bool
    min_size: int


PIQ_METRICS: dict[str, PiqMetric] = {
    "ms_ssim": PiqMetric("multi_scale_ssim", "MS-SSIM", lower_better=False, min_size=161),
    "vif_p": PiqMetric("vif_p", "VIF-p", lower_better=False, min_size=41),
    "fsim": PiqMetric("fsim", "FSIM", lower_better=False, min_size=2),
    "gmsd": PiqMetric("gmsd", "GMSD", lower_better=True, min_size=2),
}


def size_skips(min_side: int, metrics: Sequence[str] = tuple(PIQ_METRICS)) -> dict[str, str]:
    """Reasons to skip each metric whose minimum size exceeds ``min_side`` (the smallest side in the dataset)."""
    return {
        name: f"{PIQ_METRICS[name].label} needs images of at least {PIQ_METRICS[name].min_size} px per side; "
        f"the smallest image here has a {min_side} px side"
        for name in metrics
        if min_side < PIQ_METRICS[name].min_size
    }


def piq_baselines(
    ref_paths: Sequence[PathLikeStr],
    dist_paths: Sequence[PathLikeStr],
    *,
    metrics: Sequence[str] = tuple(PIQ_METRICS),
    threads: int = 1,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Scores from piq for every (reference, distorted) pair, and the metrics skipped with their reasons.

    Returns:
        A DataFrame with one float column per scored metric (one row per pair), and ``{metric: reason}`` for the
        metrics skipped because an image is smaller than their minimum size.

    Raises:
        ValueError: unknown metric, lists of different lengths, or a pair that differs in shape (both named).
        ImageReadError: a file is missing or unreadable.
    """
    unknown = [m for m in metrics if m not in PIQ_METRICS]
    if unknown:
        raise ValueError(f"unknown piq metric(s) {unknown}; known: {sorted(PIQ_METRICS)}")
    if len(ref_paths) != len(dist_paths):
        raise ValueError(f"ref_paths has {len(ref_paths)} entries but dist_paths has {len(dist_paths)}")
    import piq
    import torch

    reference = lru_cache(maxsize=32)(_tensor)
    pairs = []
    for ref_path, dist_path in zip(ref_paths, dist_paths, strict=True):
        ref, dist = reference(str(ref_path)), _tensor(str(dist_path))
        if ref.shape != dist.shape:
            raise ValueError(
                f"reference {ref_path} has shape {tuple(ref.shape)} but {dist_path} has {tuple(dist.shape)}"
            )
        pairs.append((ref, dist))
    min_side = min((min(r.shape[-2:]) for r, _ in pairs), default=0)
    skipped = size_skips(int(min_side), metrics)
    scored = [m for m in metrics if m not in skipped]
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            columns = {
                name: [float(getattr(piq, PIQ_METRICS[name].function)(d, r, data_range=1.0)) for r, d in pairs]
                for name in scored
            }
    finally:
        torch.set_num_threads(previous)
    return pd.DataFrame(columns, columns=scored, dtype=np.float64), skipped


def _tensor(path: str) -> torch.Tensor:
    import torch

    rgb = load_rgb(path)
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))).float().div(255.0).unsqueeze(0)
