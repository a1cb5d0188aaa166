"""Random 3D crops of bank volumes for self-supervised training: reading, cropping, flips, rotation and scale.

Every random choice comes from a ``numpy.random.Generator`` seeded by the `perceptflow.ssl.views.SeededSampler`
item seed, so a run is reproducible under its seed whatever the worker count.
"""

from __future__ import annotations

import math
from pathlib import Path

import nibabel as nib
import numpy as np
import numpy.typing as npt
import torch
from scipy import ndimage
from torch import Tensor

FloatVolume = npt.NDArray[np.float32]


def load_volume_array(path: Path) -> FloatVolume:
    """The float32 (D, H, W) data of a bank volume (``.nii``/``.nii.gz``).

    Raises:
        ValueError: the file cannot be read or is not 3D; the message names it.
    """
    try:
        data = np.asarray(nib.load(path).dataobj, dtype=np.float32)  # type: ignore[attr-defined]
    except Exception as error:  # nibabel raises many types on damaged files
        raise ValueError(f"cannot read training volume {path}: {error}") from error
    if data.ndim != 3:
        raise ValueError(f"training volume {path} has shape {data.shape}; a 3D volume is required")
    return data


def random_crop(volume: np.ndarray, size: int, rng: np.random.Generator) -> FloatVolume:
    """A random ``size``^3 crop; axes shorter than ``size`` are zero-padded around the centre first."""
    pad = [((max(0, size - s) + 1) // 2, max(0, size - s) // 2) for s in volume.shape]
    if any(before or after for before, after in pad):
        volume = np.pad(volume, pad)
    starts = [int(rng.integers(0, s - size + 1)) for s in volume.shape]
    region = tuple(slice(start, start + size) for start in starts)
    return np.ascontiguousarray(volume[region], dtype=np.float32)


def random_flips(volume: np.ndarray, rng: np.random.Generator) -> FloatVolume:
    """Flip each axis with probability 1/2."""
    axes = tuple(axis for axis in range(3) if rng.random() < 0.5)
    return np.ascontiguousarray(np.flip(volume, axes) if axes else volume, dtype=np.float32)


def rotation_matrix(angles: np.ndarray) -> np.ndarray:
    """Rz @ Ry @ Rx for ``angles`` (rad) about axes 0, 1, 2."""
    cx, cy, cz = np.cos(angles)
    sx, sy, sz = np.sin(angles)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def random_rotate_scale(
    volume: np.ndarray,
    rng: np.random.Generator,
    *,
    max_degrees: float = 15.0,
    scale: tuple[float, float] = (0.85, 1.15),
) -> FloatVolume:
    """Rotate about the centre by up to ``max_degrees`` per axis and scale isotropically (trilinear, zero fill)."""
    angles = rng.uniform(-1, 1, size=3) * math.radians(max_degrees)
    factor = rng.uniform(*scale)
    matrix = rotation_matrix(angles) / factor  # output -> input coordinates
    centre = (np.array(volume.shape) - 1) / 2
    offset = centre - matrix @ centre
    out = ndimage.affine_transform(volume, matrix, offset, order=1, mode="constant", cval=0.0)
    return out.astype(np.float32, copy=False)


def to_tensor(volume: np.ndarray) -> Tensor:
    """(D, H, W) array -> (1, D, H, W) float32 tensor."""
    return torch.from_numpy(np.ascontiguousarray(volume, dtype=np.float32)).unsqueeze(0)
