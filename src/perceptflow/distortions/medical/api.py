"""Applying a 3D medical artefact to a volume, its class labels and the severity measures of the calibration.

Volumes are float (D, H, W) arrays normalised to ~[0, 1] (:func:`perceptflow.data.volumes.nifti.read_volume`);
outputs are float32 of the same shape, finite, not clipped. Seeding follows the 2D bank: pass
``distortion_rng(seed, volume_id, name, level)``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from perceptflow.distortions.api import PRISTINE, level_value
from perceptflow.distortions.medical.registry import MEDICAL_DISTORTIONS
from perceptflow.distortions.registry import get_distortion
from perceptflow.distortions.spec import N_LEVELS
from perceptflow.measures import nrmse, ssim3d

#: Smallest side a volume may have (SSIM's 7-voxel window and the k-space masks need it).
MIN_SIDE = 8
#: Number of medical class labels besides pristine (0): 10 types x 5 levels.
N_MEDICAL_CLASSES = len(MEDICAL_DISTORTIONS) * N_LEVELS


def apply_volume_distortion(
    volume: np.ndarray, name: str, level: int, rng: np.random.Generator, scheme: str = "severity"
) -> npt.NDArray[np.float32]:
    """Distort a float (D, H, W) volume with medical type ``name`` at ``level`` (1..5).

    Raises:
        KeyError: unknown type.
        ValueError: a 2D (natural or DPS) type, a volume that is not 3D/finite/at least 8 voxels a side,
            a bad level or scheme.
    """
    spec = get_distortion(name)
    if spec.domain != "medical":
        raise ValueError(
            f"{name} is a 2D {spec.domain} type for uint8 (H, W, 3) images: use apply_distortion, "
            f"or a medical type ({', '.join(MEDICAL_DISTORTIONS)})"
        )
    check_volume(volume)
    value = level_value(name, level, scheme)
    out = spec.fn(np.asarray(volume, dtype=np.float32), value, rng)
    if out.shape != volume.shape or not np.isfinite(out).all():
        raise RuntimeError(f"{name} returned shape {out.shape} (finite: {np.isfinite(out).all()}) for {volume.shape}")
    return out.astype(np.float32, copy=False)


def medical_class_label(name: str | None, level: int) -> int:
    """Artefact class of the 3D contrastive objective: ``(id - 201) * 5 + level`` (1..50); pristine is 0.

    A label space of its own, separate from CONTRIQUE's KADID classes 0..125 (which
    :func:`perceptflow.distortions.class_label` keeps for 2D types only); a model never mixes the two.

    Raises:
        KeyError: unknown type.
        ValueError: a 2D type, or level outside 1..5.
    """
    if name is None or name == PRISTINE:
        return 0
    spec = get_distortion(name)
    if spec.domain != "medical":
        raise ValueError(f"{name} ({spec.domain}) is not a medical type; use class_label for 2D types")
    level_value(name, level)  # validates the level
    return (spec.id - 201) * N_LEVELS + level


def check_volume(volume: object) -> None:
    """Raise ValueError unless ``volume`` is a finite float/int 3D array with every side >= :data:`MIN_SIDE`."""
    shape = getattr(volume, "shape", None)
    hint = " (an (H, W, 3) RGB image? use apply_distortion with a 2D type)" if shape and shape[-1:] == (3,) else ""
    if not isinstance(volume, np.ndarray) or volume.ndim != 3:
        raise ValueError(f"volume must be a 3D (D, H, W) array, got shape {shape}{hint}")
    if volume.dtype.kind not in "fiu":
        raise ValueError(f"volume must be numeric, got dtype {volume.dtype}")
    if min(volume.shape) < MIN_SIDE:
        raise ValueError(f"volume must be a 3D (D, H, W) array with sides >= {MIN_SIDE} voxels, got {shape}{hint}")
    if not np.isfinite(volume).all():
        raise ValueError("volume has NaN/Inf voxels")


def calibration_volume(spacing: float = 3.0, shape: tuple[int, int, int] = (64, 64, 64)) -> npt.NDArray[np.float32]:
    """The calibration volume: nilearn's MNI152 T1 in RAS, resampled to ``spacing`` mm, normalised, cropped."""
    from perceptflow.data.volumes.nifti import NiftiConfig, demo_volumes, read_volume

    return read_volume(demo_volumes()["mni152_t1"], NiftiConfig(spacing=spacing, shape=shape))[0].data


def severity_table(
    volume: np.ndarray, volume_id: str, seed: int = 0, names: list[str] | None = None, ssim: bool = True
) -> dict[str, list[tuple[float, float, float]]]:
    """Per type, the five (parameter, NRMSE, SSIM) rows of ``volume`` under the registered levels.

    Each level is seeded with ``distortion_rng(seed, volume_id, name, level)``; SSIM is NaN when ``ssim`` is False.
    """
    from perceptflow.distortions.api import distortion_rng

    table = {}
    for name in names or list(MEDICAL_DISTORTIONS):
        rows = []
        for level in range(1, N_LEVELS + 1):
            out = apply_volume_distortion(volume, name, level, distortion_rng(seed, volume_id, name, level))
            rows.append((level_value(name, level), nrmse(volume, out), ssim3d(volume, out) if ssim else float("nan")))
        table[name] = rows
    return table


def step_ratio(severities: list[float]) -> float:
    """Largest over smallest step between consecutive levels (inf when a step is not positive)."""
    steps = np.diff(np.asarray(severities, dtype=float))
    return float(steps.max() / steps.min()) if steps.min() > 0 else float("inf")
