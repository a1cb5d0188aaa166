"""Image and volume quality measures that both the artefact calibration (`perceptflow.distortions.medical`) and
evaluation (`perceptflow.evaluate.volumes`) use: a leaf module, importing nothing of perceptflow."""

from __future__ import annotations

import numpy as np


def nrmse(reference: np.ndarray, distorted: np.ndarray) -> float:
    """``||distorted - reference|| / ||reference||`` (skimage's Euclidean NRMSE)."""
    reference = np.asarray(reference, dtype=np.float64)
    return float(np.linalg.norm(np.asarray(distorted, dtype=np.float64) - reference) / np.linalg.norm(reference))


def ssim3d(reference: np.ndarray, distorted: np.ndarray) -> float:
    """3D SSIM (skimage, 7^3 window, data range 1) of ``distorted`` against ``reference``."""
    from skimage.metrics import structural_similarity

    return float(
        structural_similarity(
            np.asarray(reference, dtype=np.float64), np.asarray(distorted, dtype=np.float64), data_range=1.0
        )
    )
