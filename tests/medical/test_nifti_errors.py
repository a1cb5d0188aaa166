"""Every kind of bad NIfTI input fails with a clear error that names the file."""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from perceptflow.data.volumes.nifti import NiftiConfig, NiftiReadError, load_nifti, read_volume


def _volume() -> np.ndarray:
    return np.random.default_rng(0).uniform(1, 100, size=(12, 12, 12)).astype(np.float32)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NiftiReadError, match=r"not found: .*absent\.nii"):
        read_volume(tmp_path / "absent.nii")


@pytest.mark.parametrize("name", ["cut.nii", "cut.nii.gz"])
def test_truncated_file(name: str, write_nifti) -> None:
    path = write_nifti(_volume(), name)
    raw = gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()
    cut = raw[: len(raw) // 2]
    path.write_bytes(gzip.compress(cut)[:-20] if name.endswith(".gz") else cut)
    with pytest.raises(NiftiReadError, match=rf"cannot read .*{name}.*truncated"):
        read_volume(path)


@pytest.mark.parametrize("content", [b"this is a text file, not NIfTI\n" * 20, b""])
def test_not_nifti(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "notes.nii"
    path.write_bytes(content)
    with pytest.raises(NiftiReadError, match=r"cannot read .*notes\.nii as NIfTI"):
        read_volume(path)


def test_other_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vol.mgz"
    nib.save(nib.MGHImage(_volume(), np.eye(4)), path)
    with pytest.raises(NiftiReadError, match=r"vol\.mgz: MGHImage is not a NIfTI"):
        read_volume(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf(bad: float, write_nifti) -> None:
    data = _volume()
    data[3, 4, 5] = bad
    path = write_nifti(data, "holes.nii.gz")
    with pytest.raises(NiftiReadError, match=r"holes\.nii\.gz: 1 NaN/Inf voxels"):
        read_volume(path)


@pytest.mark.parametrize("shape", [(32, 32), (32, 32, 1), (32, 1, 32)])
def test_2d_image(shape: tuple[int, ...], write_nifti) -> None:
    path = write_nifti(np.ones(shape, np.float32), "slice.nii")
    with pytest.raises(NiftiReadError, match=r"slice\.nii: a 2D image .* where a 3D volume is required"):
        read_volume(path)


def test_zero_size(write_nifti) -> None:
    path = write_nifti(np.zeros((0, 8, 8), np.float32), "empty.nii")
    with pytest.raises(NiftiReadError, match=r"empty\.nii: zero-size volume"):
        read_volume(path)


def test_all_zero(write_nifti) -> None:
    path = write_nifti(np.zeros((8, 8, 8), np.float32), "blank.nii.gz")
    with pytest.raises(NiftiReadError, match=r"blank\.nii\.gz: all-zero volume"):
        read_volume(path)


def test_all_zero_time_point_in_4d(write_nifti) -> None:
    data = np.stack([_volume(), np.zeros((12, 12, 12), np.float32)], axis=-1)
    with pytest.raises(NiftiReadError, match=r"run\.nii\.gz: all-zero volume \(volume 1\)"):
        load_nifti(write_nifti(data, "run.nii.gz"), four_d="split")


def test_constant_volume(write_nifti) -> None:
    path = write_nifti(np.full((8, 8, 8), 5.0, np.float32), "flat.nii")
    with pytest.raises(NiftiReadError, match=r"flat\.nii: constant volume"):
        read_volume(path, NiftiConfig(spacing=None))


def test_singular_affine(tmp_path: Path) -> None:
    image = nib.Nifti1Image(_volume(), None)
    image.set_sform(np.diag([2.0, 2.0, 0.0, 1.0]), code=1)  # a qform cannot even hold it
    path = tmp_path / "flat_affine.nii"
    nib.save(image, path)
    with pytest.raises(NiftiReadError, match=r"flat_affine\.nii: singular or non-finite affine"):
        read_volume(path)


def test_inconsistent_qform_and_sform(tmp_path: Path) -> None:
    image = nib.Nifti1Image(_volume(), np.diag([2.0, 2.0, 2.0, 1.0]))
    image.set_qform(np.diag([3.0, 3.0, 3.0, 1.0]), code=1)
    image.set_sform(np.diag([2.0, 2.0, 2.0, 1.0]), code=1)
    path = tmp_path / "two_affines.nii"
    nib.save(image, path)
    with pytest.raises(NiftiReadError, match=r"two_affines\.nii: inconsistent qform and sform"):
        read_volume(path)


def test_5d_is_refused(write_nifti) -> None:
    path = write_nifti(np.ones((8, 8, 8, 2, 2), np.float32), "five.nii")
    with pytest.raises(NiftiReadError, match=r"five\.nii: 5D data"):
        read_volume(path, NiftiConfig(four_d="split"))


def test_error_is_a_value_error() -> None:
    assert issubclass(NiftiReadError, ValueError)
