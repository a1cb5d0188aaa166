"""The 3D artefact bank: registry, dispatch, calibration (monotone, even steps), determinism, parameters."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import ndimage

from perceptflow.distortions import (
    DISTORTIONS,
    apply_distortion,
    class_label,
    distortion_rng,
    distortions_in,
    get_distortion,
)
from perceptflow.distortions.medical import MEDICAL_DISTORTIONS, apply_volume_distortion, medical_class_label
from perceptflow.distortions.medical.api import severity_table, step_ratio
from perceptflow.measures import nrmse

#: Types that draw from the generator (the others are fully determined by the level).
RANDOM_TYPES = {"mri_motion", "mri_spike", "mri_bias_field", "mri_rician_noise", "mri_undersampling"}
#: Largest step / smallest step allowed between consecutive levels.
MAX_STEP_RATIO = 3.0


@pytest.fixture(scope="module")
def calibration(mni_small: np.ndarray) -> dict[str, list[tuple[float, float, float]]]:
    """(parameter, NRMSE, SSIM) per type and level on the calibration volume, seed 0."""
    return severity_table(mni_small, "mni152_t1", seed=0)


def test_registry__ten_medical_types_with_ids_from_201() -> None:
    medical = distortions_in("medical")
    assert list(medical) == list(MEDICAL_DISTORTIONS) and len(medical) == 10
    assert [spec.id for spec in medical.values()] == list(range(201, 211))
    assert all(spec.domain == "medical" and not spec.kadis_levels for spec in medical.values())
    assert not set(medical) & set(DISTORTIONS)  # the 2D bank's iteration order is unchanged
    assert get_distortion("mri_blur") is MEDICAL_DISTORTIONS["mri_blur"]
    with pytest.raises(KeyError, match="did you mean mri_gamma"):
        get_distortion("mri_gama")


def test_class_labels__medical_have_their_own_contiguous_range() -> None:
    labels = [medical_class_label(name, level) for name in MEDICAL_DISTORTIONS for level in range(1, 6)]
    assert labels == list(range(1, 51)) and medical_class_label(None, 3) == 0
    with pytest.raises(ValueError, match="not a KADID-10k type"):
        class_label("mri_motion", 1)
    with pytest.raises(ValueError, match="not a medical type"):
        medical_class_label("jpeg", 1)
    with pytest.raises(ValueError, match=r"1\.\.5"):
        medical_class_label("mri_blur", 6)


def test_dispatch__2d_and_3d_types_refuse_the_other_kind(mni_small: np.ndarray) -> None:
    image = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(ValueError, match=r"3D medical artefact.*apply_volume_distortion"):
        apply_distortion(image, "mri_blur", 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"2D natural type.*apply_distortion"):
        apply_volume_distortion(mni_small, "gaussian_blur", 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"3D \(D, H, W\).*>= 8 voxels.*RGB image"):
        apply_volume_distortion(image, "mri_blur", 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"3D \(D, H, W\) array, got shape \(8, 8\)"):
        apply_volume_distortion(np.zeros((8, 8), np.float32), "mri_blur", 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match=">= 8 voxels"):
        apply_volume_distortion(np.zeros((4, 32, 32), np.float32), "mri_blur", 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="NaN/Inf"):
        apply_volume_distortion(np.full((8, 8, 8), np.nan, np.float32), "mri_blur", 1, np.random.default_rng(0))


@pytest.mark.parametrize("name", list(MEDICAL_DISTORTIONS))
def test_calibration__nrmse_rises_strictly_with_even_steps(name: str, calibration: dict) -> None:
    rows = calibration[name]
    errors = [row[1] for row in rows]
    assert all(b > a for a, b in itertools.pairwise(errors)), f"{name}: NRMSE {errors}"
    assert step_ratio(errors) <= MAX_STEP_RATIO, f"{name}: NRMSE steps {np.diff(errors)}"
    assert errors[0] > 0.01, f"{name}: level 1 barely changes the volume ({errors[0]:.4f})"
    ssims = [row[2] for row in rows]
    assert all(b < a for a, b in itertools.pairwise(ssims)), f"{name}: SSIM {ssims}"


@pytest.mark.parametrize("name", list(MEDICAL_DISTORTIONS))
def test_determinism__same_seed_same_array_other_seed_differs(name: str, mni_small: np.ndarray) -> None:
    volume = mni_small[16:48, 16:48, 16:48]
    first = apply_volume_distortion(volume, name, 3, distortion_rng(5, "ref", name, 3))
    again = apply_volume_distortion(volume, name, 3, distortion_rng(5, "ref", name, 3))
    other = apply_volume_distortion(volume, name, 3, distortion_rng(6, "ref", name, 3))
    assert first.dtype == np.float32 and first.shape == volume.shape
    assert np.array_equal(first, again)
    assert np.array_equal(first, other) == (name not in RANDOM_TYPES)


def test_rician_noise__has_the_level_sigma() -> None:
    rng = np.random.default_rng(0)
    for level in (1, 5):
        sigma = MEDICAL_DISTORTIONS["mri_rician_noise"].levels[level - 1]
        background = apply_volume_distortion(np.zeros((40, 40, 40), np.float32), "mri_rician_noise", level, rng)
        assert background.mean() == pytest.approx(sigma * np.sqrt(np.pi / 2), rel=0.02)  # Rayleigh mean
        bright = apply_volume_distortion(np.ones((40, 40, 40), np.float32), "mri_rician_noise", level, rng)
        assert bright.std() == pytest.approx(sigma, rel=0.03)  # ~Gaussian at high SNR


def test_parameters__match_their_definitions(mni_small: np.ndarray) -> None:
    volume, rng = mni_small, np.random.default_rng(0)
    gamma = MEDICAL_DISTORTIONS["mri_gamma"].levels[2]
    np.testing.assert_allclose(apply_volume_distortion(volume, "mri_gamma", 3, rng), volume**gamma, atol=1e-6)
    sigma = MEDICAL_DISTORTIONS["mri_blur"].levels[4]
    blurred = apply_volume_distortion(volume, "mri_blur", 5, rng)
    np.testing.assert_allclose(blurred, ndimage.gaussian_filter(volume, sigma), atol=0.02)
    bias = apply_volume_distortion(volume, "mri_bias_field", 2, rng)
    assert nrmse(volume, bias) == pytest.approx(MEDICAL_DISTORTIONS["mri_bias_field"].levels[1], rel=0.1)
    fns = {name: spec.fn for name, spec in MEDICAL_DISTORTIONS.items()}
    for name in ("mri_gibbs_ringing", "mri_undersampling", "mri_anisotropic", "mri_gamma"):
        np.testing.assert_allclose(fns[name](volume, 1.0, rng), volume, atol=1e-4, err_msg=name)  # identity at 1
    for name in ("mri_ghosting", "mri_spike", "mri_rician_noise"):
        np.testing.assert_allclose(fns[name](volume, 0.0, rng), volume, atol=1e-4, err_msg=name)  # identity at 0
