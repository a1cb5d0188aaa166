"""Reading, reorientation, resampling, normalisation and crop/pad on the bundled volumes."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from perceptflow.data.volumes.nifti import NiftiConfig, NiftiReadError, crop_or_pad, nifti_files, read_volume

#: nibabel's bundled test data (the 4D example lives here).
NIBABEL_DATA = Path(nib.__file__).parent / "tests" / "data"


def test_demo_volumes__exist_and_are_3d_anatomy(demo_paths: dict[str, Path]) -> None:
    assert set(demo_paths) == {"mni152_t1", "mni152_gm", "mni152_wm", "nibabel_anatomical"}
    for path in demo_paths.values():
        assert path.is_file() and len(nib.load(path).shape) == 3


def test_mni_t1__native_grid_is_ras_1mm(demo_paths: dict[str, Path]) -> None:
    (volume,) = read_volume(demo_paths["mni152_t1"], NiftiConfig(spacing=1.0))
    assert volume.data.shape == (197, 233, 189) and volume.data.dtype == np.float32
    assert volume.spacing == pytest.approx((1.0, 1.0, 1.0))
    assert volume.orientation == ("R", "A", "S") and volume.index is None
    assert volume.data.min() == 0.0 and volume.data.max() == 1.0


def test_mni_t1__resampled_to_3mm_keeps_the_field_of_view(demo_paths: dict[str, Path]) -> None:
    (volume,) = read_volume(demo_paths["mni152_t1"], NiftiConfig(spacing=3.0))
    assert volume.data.shape == (66, 78, 63)
    assert volume.spacing == pytest.approx((3.0, 3.0, 3.0))
    native = nib.load(demo_paths["mni152_t1"]).affine
    first_centre = native[:3, :3] @ np.array([1.0, 1.0, 1.0]) + native[:3, 3]  # voxel (0,0,0) at 3 mm = 1 at 1 mm
    assert volume.affine[:3, 3] == pytest.approx(first_centre)


def test_anisotropic_spacing__resampled_per_axis(demo_paths: dict[str, Path]) -> None:
    (volume,) = read_volume(demo_paths["mni152_gm"], NiftiConfig(spacing=(2.0, 3.0, 4.0)))
    assert volume.spacing == pytest.approx((2.0, 3.0, 4.0))
    assert volume.data.shape == (98, 78, 47)


def test_las_file__is_flipped_to_ras(demo_paths: dict[str, Path]) -> None:
    path = demo_paths["nibabel_anatomical"]
    assert nib.aff2axcodes(nib.load(path).affine) == ("L", "A", "S")
    (volume,) = read_volume(path, NiftiConfig(spacing=None, percentiles=(0.0, 100.0)))
    assert volume.orientation == ("R", "A", "S") and volume.spacing == pytest.approx((2.0, 2.0, 2.0))
    raw = np.asarray(nib.load(path).dataobj, dtype=np.float32)
    assert volume.data.shape == raw.shape == (33, 41, 25)
    inside = (volume.data > 0) & (volume.data < 1)  # unclipped voxels are a linear map of the raw ones

    def residual(candidate: np.ndarray) -> float:
        slope, offset = np.polyfit(candidate[inside], volume.data[inside], 1)
        return float(np.abs(slope * candidate[inside] + offset - volume.data[inside]).max())

    assert residual(raw[::-1]) < 1e-4 < 0.1 < residual(raw)


def test_crop_or_pad__reaches_the_shape_and_moves_the_origin(demo_paths: dict[str, Path]) -> None:
    (volume,) = read_volume(demo_paths["mni152_t1"], NiftiConfig(spacing=3.0, shape=(64, 80, 60)))
    assert volume.data.shape == (64, 80, 60) and volume.spacing == pytest.approx((3.0, 3.0, 3.0))
    data, affine = crop_or_pad(np.ones((4, 4, 4), np.float32), np.eye(4), (2, 6, 4))
    assert data.shape == (2, 6, 4) and data[:, 0].sum() == 0 and data[:, 1:5].all()
    assert affine[:3, 3] == pytest.approx([1.0, -1.0, 0.0])


def test_normalisation__maps_foreground_percentiles_to_unit_range(brain_like: np.ndarray, write_nifti) -> None:
    (volume,) = read_volume(write_nifti(brain_like), NiftiConfig(spacing=None, percentiles=(1.0, 99.0)))
    foreground = volume.data[brain_like > 0]
    assert volume.data[brain_like == 0].max() == 0.0
    assert np.mean(foreground >= 1.0) == pytest.approx(0.01, abs=0.005)
    assert 0.4 < float(np.median(foreground)) < 0.6


def test_4d__refused_by_default_and_split_on_request() -> None:
    path = NIBABEL_DATA / "example4d.nii.gz"
    with pytest.raises(NiftiReadError, match=r"example4d.*4D.*four_d='split'"):
        read_volume(path)
    volumes = read_volume(path, NiftiConfig(spacing=None, four_d="split"))
    assert [v.index for v in volumes] == [0, 1]
    assert all(v.data.shape == (128, 96, 24) and v.orientation == ("R", "A", "S") for v in volumes)


def test_config__rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="four_d"):
        NiftiConfig(four_d="merge")
    with pytest.raises(ValueError, match="percentiles"):
        NiftiConfig(percentiles=(99.0, 1.0))
    with pytest.raises(ValueError, match="spacing"):
        NiftiConfig(spacing=0.0)


def test_nifti_files__lists_a_folder_sorted(tmp_path: Path, write_nifti, brain_like: np.ndarray) -> None:
    with pytest.raises(NiftiReadError, match=r"no \.nii or \.nii\.gz files"):
        nifti_files(tmp_path)
    for name in ("b.nii.gz", "a.nii"):
        write_nifti(brain_like, name)
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in nifti_files(tmp_path)] == ["a.nii", "b.nii.gz"]
    with pytest.raises(NiftiReadError, match="folder not found"):
        nifti_files(tmp_path / "absent")
