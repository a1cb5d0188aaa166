"""The adapted distance scored on the distort bank (SRCC against the distortion level), beside its 2AFC."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from perceptflow.data.images import load_rgb
from perceptflow.evaluate.correlation import srcc
from perceptflow.metric.distance import PerceptualDistance
from perceptflow.types import PathLikeStr


def synthetic_distances(metric: PerceptualDistance, manifest: PathLikeStr, *, batch_size: int = 32) -> pd.DataFrame:
    """The metric's distance between every distorted image of the bank's manifest and its reference (full size).

    Returns the manifest's non-pristine rows (``image_id``, ``dist_type``, ``level``) with a ``distance`` column.

    Raises:
        ValueError: the manifest lacks columns or has no distorted rows (naming the file).
    """
    manifest = Path(manifest)
    frame = pd.read_csv(manifest)
    missing = [c for c in ("image_id", "dist_type", "level", "path", "ref_path") if c not in frame.columns]
    if missing:
        raise ValueError(f"{manifest}: missing column(s) {missing}")
    rows = frame[frame["dist_type"] != "pristine"].reset_index(drop=True)
    if rows.empty:
        raise ValueError(f"{manifest}: no distorted rows to score")
    device = next(metric.parameters()).device
    metric.eval()
    refs: dict[str, torch.Tensor] = {}
    distances: list[float] = []

    def tensor(path: str) -> torch.Tensor:
        return torch.from_numpy(load_rgb(manifest.parent / path)).permute(2, 0, 1).float().div(255.0)

    with torch.no_grad():
        for start in range(0, len(rows), batch_size):
            part = rows.iloc[start : start + batch_size]
            for ref in part["ref_path"]:
                if ref not in refs:
                    refs[ref] = tensor(ref)
            ref = torch.stack([refs[r] for r in part["ref_path"]]).to(device)
            dist = torch.stack([tensor(d) for d in part["path"]]).to(device)
            distances += metric(ref, dist).cpu().tolist()
    return rows[["image_id", "dist_type", "level"]].assign(distance=distances)


def synthetic_srcc(metric: PerceptualDistance, manifest: PathLikeStr) -> float:
    """SRCC between the metric's distance to the reference and the distortion level (both higher = worse)."""
    table = synthetic_distances(metric, manifest)
    return srcc(table["distance"], table["level"])
