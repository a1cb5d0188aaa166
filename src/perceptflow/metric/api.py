"""The user's entry points, whatever the modality: `load_metric` returns a `LearnedMetric` (images) or a
`perceptflow.metric.volumes.VolumeMetric` (NIfTI volumes), `score_paths` scores files with either.

Kept apart from the 2D modules so the 2D rules' code hash never covers 3D code (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from perceptflow.metric.file import MetricFileError, read_metric_file
from perceptflow.metric.learned import LearnedMetric
from perceptflow.metric.scoring import score_files
from perceptflow.types import PathLikeStr

if TYPE_CHECKING:  # pragma: no cover
    from perceptflow.metric.volumes import VolumeMetric


def load_metric(
    path: PathLikeStr, *, device: str | torch.device = "cpu", context: int | str | None = None
) -> LearnedMetric | VolumeMetric:
    """Load a metric file on ``device`` (frozen, eval mode): a `LearnedMetric` for 2D files, a `VolumeMetric` for 3D.

    Args:
        path: a ``perceptflow.metric/1`` file (``results/metric/<encoder>/*.pt``,
            ``results/volumes/metric/<encoder>/*.pt``), or an ``adapt_dps`` ``metric.pt`` with ``context``.
        device: where to put it (``"cpu"``, ``"cuda"``, ...).
        context: the adapted DPS context to read (adapt_dps files only).

    Raises:
        FileNotFoundError: no such file.
        MetricFileError: not a metric file of this version, or a damaged one (the message names it).
    """
    payload = read_metric_file(path, context=context)
    try:
        if payload.get("modality", "2d") == "3d":
            from perceptflow.metric.volumes import VolumeMetric

            metric: LearnedMetric | VolumeMetric = VolumeMetric(payload)
        else:
            metric = LearnedMetric(payload)
    except (RuntimeError, KeyError, TypeError) as error:  # weights that do not fit, a missing key
        raise MetricFileError(f"{path} is a damaged perceptflow metric file: {str(error).splitlines()[0]}") from error
    return metric.to(device)


def score_paths(
    metric: LearnedMetric | VolumeMetric,
    dist_paths: Sequence[PathLikeStr],
    ref_paths: Sequence[PathLikeStr] | None = None,
    *,
    batch_size: int = 32,
    progress: bool = True,
    as_stored: bool = False,
) -> np.ndarray:
    """(N,) scores of image files (2D metric, `score_files`) or NIfTI files (3D metric, `score_volume_files`;
    ``as_stored`` skips its NIfTI preprocessing for volumes already on the grid)."""
    if metric.modality == "3d":
        from perceptflow.metric.volumes import VolumeMetric, score_volume_files

        assert isinstance(metric, VolumeMetric)
        return score_volume_files(metric, dist_paths, ref_paths, as_stored=as_stored, progress=progress)
    assert isinstance(metric, LearnedMetric)
    return score_files(metric, dist_paths, ref_paths, batch_size=batch_size, progress=progress)
