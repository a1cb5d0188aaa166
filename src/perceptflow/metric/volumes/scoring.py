"""Score NIfTI volumes with a `VolumeMetric`: each file read through the metric's NIfTI preprocessing (or as stored),
each reference's features computed once. Used by ``perceptflow score`` and the 3D MLflow model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from perceptflow.data.volumes.datasets import read_volume_array
from perceptflow.data.volumes.nifti import NiftiConfig
from perceptflow.metric.volumes.learned import VolumeMetric
from perceptflow.types import PathLikeStr


def score_volume_files(
    metric: VolumeMetric,
    dist_paths: Sequence[PathLikeStr],
    ref_paths: Sequence[PathLikeStr] | None = None,
    *,
    as_stored: bool = False,
    progress: bool = True,
    desc: str = "score",
) -> np.ndarray:
    """(N,) float64 scores of NIfTI files, in the order given: FR distances with ``ref_paths``, else NR.

    Args:
        as_stored: read the volumes as stored (already preprocessed, e.g. the volume bank's) instead of through
            the metric's ``input.nifti`` preprocessing.

    Raises:
        perceptflow.data.volumes.nifti.NiftiReadError: a file is missing or not a usable 3D volume (naming it).
        ValueError: the lists differ in length, or a pair differs in shape after preprocessing (naming both files).
    """
    if ref_paths is not None and len(ref_paths) != len(dist_paths):
        raise ValueError(f"{len(dist_paths)} distorted volumes but {len(ref_paths)} references")
    preprocess: NiftiConfig | None = None if as_stored else metric.preprocess
    out = np.zeros(len(dist_paths), dtype=np.float64)
    ref_key, ref_features = None, None
    with torch.inference_mode(), tqdm(total=len(dist_paths), desc=desc, unit="vol", disable=not progress) as bar:
        for row, path in enumerate(dist_paths):
            volume = read_volume_array(path, preprocess)
            features = metric.features(metric.prepare(torch.from_numpy(volume), str(path)))
            if ref_paths is None:
                out[row] = float((features.double() @ _nr_coef(metric) + metric.nr_intercept)[0])
            else:
                ref = str(ref_paths[row])
                if ref != ref_key:
                    reference = read_volume_array(ref, preprocess)
                    ref_key, ref_shape = ref, reference.shape
                    ref_features = metric.features(metric.prepare(torch.from_numpy(reference), ref))
                if volume.shape != ref_shape:
                    raise ValueError(f"shape mismatch: {path} is {volume.shape} but its reference {ref} is {ref_shape}")
                assert ref_features is not None
                out[row] = float(metric.distance(features, ref_features)[0])
            bar.update(1)
    return out


def _nr_coef(metric: VolumeMetric) -> torch.Tensor:
    coef: torch.Tensor | None = metric.nr_coef  # type: ignore[assignment]
    if coef is None:
        raise ValueError("this metric file has no no-reference head: give references")
    return coef
