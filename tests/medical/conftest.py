"""Fixtures for the medical tests: the bundled volumes (no download) and small NIfTI writers."""

from __future__ import annotations

import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from perceptflow.data.volumes.nifti import demo_volumes
from perceptflow.distortions.medical.api import calibration_volume


@pytest.fixture(scope="session")
def mni_small() -> np.ndarray:
    """The calibration volume: MNI152 T1 at 3 mm, RAS, normalised, 64^3 (the one the levels were fitted on)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return calibration_volume()


@pytest.fixture(scope="session")
def demo_paths() -> dict[str, Path]:
    """The bundled anatomy, by id."""
    return demo_volumes()


@pytest.fixture
def write_nifti(tmp_path: Path):
    """Write ``data`` with ``affine`` (default 2 mm isotropic) to ``tmp_path/name``; returns the path."""

    def write(data: np.ndarray, name: str = "vol.nii.gz", affine: np.ndarray | None = None) -> Path:
        path = tmp_path / name
        nib.save(nib.Nifti1Image(np.asarray(data), np.diag([2.0, 2.0, 2.0, 1.0]) if affine is None else affine), path)
        return path

    return write


@pytest.fixture
def brain_like() -> np.ndarray:
    """A 24^3 float32 ellipsoid with texture on a zero background, seeded."""
    grid = np.mgrid[-1:1:24j, -1:1:24j, -1:1:24j]
    inside = (grid[0] ** 2 + (grid[1] / 0.9) ** 2 + (grid[2] / 0.8) ** 2) < 0.8
    texture = np.random.default_rng(0).uniform(0.5, 1.0, size=inside.shape)
    return (inside * texture * 100).astype(np.float32)
