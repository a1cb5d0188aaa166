"""Per-type value tests: each distortion does what its MATLAB counterpart's parameter says."""

from __future__ import annotations

import io

import numpy as np
import pytest
import scipy.ndimage as ndi
from PIL import Image
from skimage.color import rgb2lab
from skimage.filters import threshold_multiotsu

from perceptflow.distortions import apply_distortion, get_distortion, level_value
from perceptflow.distortions._ops import curves, from_uint8, to_uint8
from perceptflow.distortions.blur import disk_kernel, motion_kernel
from perceptflow.distortions.quantization import multi_otsu_bins


def _apply(image: np.ndarray, name: str, value: float, seed: int = 0) -> np.ndarray:
    """Apply ``name`` with an explicit parameter value (uint8 in and out)."""
    return to_uint8(get_distortion(name).fn(from_uint8(image), value, np.random.default_rng(seed)))


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / np.mean((a.astype(float) - b.astype(float)) ** 2)))


def test_gaussian_blur__matches_scipy_with_matlab_support(photo: np.ndarray) -> None:
    expected = ndi.gaussian_filter(from_uint8(photo), sigma=(2, 2, 0), mode="nearest", radius=(4, 4, 0))
    assert np.abs(_apply(photo, "gaussian_blur", 2).astype(int) - to_uint8(expected)).max() <= 1


def test_disk_kernel__is_normalised_symmetric_with_disk_area() -> None:
    kernel = disk_kernel(4)
    assert kernel.shape == (9, 9) and kernel.sum() == pytest.approx(1.0)
    assert np.allclose(kernel, kernel.T) and np.allclose(kernel, kernel[::-1])
    coverage = kernel / kernel.max()  # interior pixels are fully covered
    assert coverage.sum() == pytest.approx(np.pi * 16, rel=0.01)


def test_motion_kernel__length_one_is_identity_and_horizontal_is_a_row() -> None:
    assert motion_kernel(1, 37.0).max() == pytest.approx(1.0)
    row = motion_kernel(5, 0.0)
    centre = row.shape[0] // 2
    assert np.allclose(row[centre, centre - 2 : centre + 3], 0.2) and row.sum() == pytest.approx(1.0)
    assert np.count_nonzero(row) == 5


def test_lens_and_motion_blur__keep_a_flat_image_flat(mid_gray: np.ndarray) -> None:
    for name in ("lens_blur", "motion_blur", "gaussian_blur"):
        assert np.array_equal(apply_distortion(mid_gray, name, 5, np.random.default_rng(0)), mid_gray)


def test_color_diffusion__leaves_grey_images_grey(demo_crops: dict[str, np.ndarray]) -> None:
    gray = demo_crops["camera"]
    out = _apply(gray, "color_diffusion", 6)
    assert np.abs(out.astype(int) - gray).max() <= 1


def test_color_shift__changes_only_the_green_channel(photo: np.ndarray) -> None:
    out = _apply(photo, "color_shift", 8)
    assert np.array_equal(out[..., [0, 2]], photo[..., [0, 2]])
    assert not np.array_equal(out[..., 1], photo[..., 1])


@pytest.mark.parametrize("colors", [64, 8])
def test_color_quantization__uses_at_most_n_colours(photo: np.ndarray, colors: int) -> None:
    out = _apply(photo, "color_quantization", colors)
    assert len(np.unique(out.reshape(-1, 3), axis=0)) <= colors


def test_color_saturation_hsv__zero_gives_grey_and_one_is_identity(photo: np.ndarray) -> None:
    grey = _apply(photo, "color_saturation_hsv", 0.0)
    assert np.ptp(grey.astype(int), axis=-1).max() == 0
    assert np.array_equal(_apply(photo, "color_saturation_hsv", 1.0), photo)


def test_color_saturation_lab__scales_chroma(photo: np.ndarray) -> None:
    def chroma(image: np.ndarray) -> float:
        return float(np.hypot(*rgb2lab(image)[..., 1:].transpose(2, 0, 1)).mean())

    assert chroma(_apply(photo, "color_saturation_lab", 2)) > 1.5 * chroma(photo)
    assert np.abs(_apply(photo, "color_saturation_lab", 1).astype(int) - photo).max() <= 1


def test_jpeg__equals_a_pillow_round_trip_and_differs(photo: np.ndarray) -> None:
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, format="JPEG", quality=24)
    expected = np.asarray(Image.open(buffer).convert("RGB"))
    out = apply_distortion(photo, "jpeg", 3, np.random.default_rng(0))
    assert level_value("jpeg", 3) == 24 and np.array_equal(out, expected)
    assert not np.array_equal(out, photo)


def test_jpeg2000__decodes_differs_and_worsens_with_ratio(photo: np.ndarray) -> None:
    psnrs = [_psnr(photo, _apply(photo, "jpeg2000", ratio)) for ratio in (16, 45, 400)]
    assert psnrs[0] < 60 and psnrs[0] > psnrs[1] > psnrs[2]


def test_white_noise__has_the_tabled_variance(mid_gray: np.ndarray) -> None:
    residual = from_uint8(_apply(mid_gray, "white_noise", 0.005)) - 128 / 255
    assert residual.var() == pytest.approx(0.005, rel=0.1)
    assert abs(residual.mean()) < 0.005


def test_white_noise_color_component__noises_ycbcr_with_the_tabled_variance(mid_gray: np.ndarray) -> None:
    out = from_uint8(_apply(mid_gray, "white_noise_color_component", 0.002))
    luma = 0.299 * out[..., 0] + 0.587 * out[..., 1] + 0.114 * out[..., 2]
    expected_y_var = 0.002 * (255 / 219) ** 2  # Y noise is added on the 16..235 scale
    assert luma.var() == pytest.approx(expected_y_var, rel=0.15)
    assert np.ptp(out, axis=-1).mean() > 0.05  # chroma noise makes the grey colourful


@pytest.mark.parametrize("density", [0.01, 0.03])
def test_impulse_noise__changes_the_expected_fraction_of_values(mid_gray: np.ndarray, density: float) -> None:
    image = np.tile(mid_gray, (4, 4, 1))  # 256x256x3 values
    out = _apply(image, "impulse_noise", density)
    changed = out != image
    assert changed.mean() == pytest.approx(density, rel=0.1)
    assert set(np.unique(out[changed])) == {0, 255}
    assert (out == 0).sum() == pytest.approx((out == 255).sum(), rel=0.15)


def test_multiplicative_noise__is_uniform_speckle_proportional_to_intensity(mid_gray: np.ndarray) -> None:
    base = 128 / 255
    residual = from_uint8(_apply(mid_gray, "multiplicative_noise", 0.02)) - base
    assert residual.var() == pytest.approx(0.02 * base**2, rel=0.1)
    assert np.abs(residual).max() <= np.sqrt(12 * 0.02) / 2 * base + 1 / 255
    black = np.zeros_like(mid_gray)
    assert np.array_equal(_apply(black, "multiplicative_noise", 0.05), black)


def test_denoise__removes_most_of_the_added_noise(photo: np.ndarray) -> None:
    out = _apply(photo, "denoise", 0.03)
    noise_only = _apply(photo, "white_noise", 0.03)
    assert _psnr(photo, out) > _psnr(photo, noise_only) + 3
    assert not np.array_equal(out, photo)


def test_brighten_and_darken__move_midtones_and_keep_black_and_white() -> None:
    ramp = np.repeat(np.linspace(0, 255, 64).astype(np.uint8)[None, :, None], 3, axis=2).repeat(4, axis=0)
    bright, dark = _apply(ramp, "brighten", 0.4), _apply(ramp, "darken", 0.4)
    assert bright.mean() > ramp.mean() + 20 and dark.mean() < ramp.mean() - 20
    for out in (bright, dark):
        assert out[0, 0, 0] <= 1 and out[0, -1, 0] >= 254


@pytest.mark.parametrize("level", [1, 2, 4, 5])
@pytest.mark.parametrize("scheme", ["severity", "kadis"])
def test_mean_shift__moves_the_mean_by_the_tabled_amount(mid_gray: np.ndarray, level: int, scheme: str) -> None:
    out = apply_distortion(mid_gray, "mean_shift", level, np.random.default_rng(0), scheme=scheme)
    shift = float(from_uint8(out).mean() - from_uint8(mid_gray).mean())
    assert shift == pytest.approx(level_value("mean_shift", level, scheme), abs=0.5 / 255)


def test_jitter__keeps_flat_images_and_scatters_texture(mid_gray: np.ndarray, photo: np.ndarray) -> None:
    assert np.array_equal(_apply(mid_gray, "jitter", 1.0), mid_gray)
    assert _psnr(photo, _apply(photo, "jitter", 1.0)) < 30


def test_non_eccentricity_patch__moves_pixels_by_at_most_8_px(photo: np.ndarray) -> None:
    out = _apply(photo, "non_eccentricity_patch", 20)
    rows, cols = np.nonzero(np.any(out != photo, axis=-1))
    assert rows.size > 0 and rows.min() >= 8 and rows.max() < 128 - 8 and cols.min() >= 8
    with pytest.raises(ValueError, match="at least 48x48"):
        _apply(photo[:40], "non_eccentricity_patch", 20)


def test_pixelate__makes_ceil_z_size_distinct_rows(photo: np.ndarray) -> None:
    out = _apply(photo, "pixelate", 0.5)
    scale = 0.95 - 0.5**0.6
    assert len(np.unique(out, axis=0)) <= int(np.ceil(scale * 128))
    assert len(np.unique(out, axis=0)) >= int(np.ceil(scale * 128)) - 2


def test_multi_otsu__matches_skimage_for_few_classes(photo: np.ndarray) -> None:
    hist = np.bincount(photo.ravel(), minlength=256)
    ours = multi_otsu_bins(hist, 2)
    reference = threshold_multiotsu(hist=hist, classes=3)  # thresholds as bin values, class = values <= t
    assert np.abs(ours - reference).max() <= 1


@pytest.mark.parametrize("levels", [20, 7])
def test_quantization__yields_at_most_n_plus_one_values(photo: np.ndarray, levels: int) -> None:
    out = _apply(photo, "quantization", levels)
    values = np.unique(out)
    assert len(values) <= levels + 1 and values[0] == 0 and values[-1] == 255


def test_color_block__paints_uniform_32px_squares(photo: np.ndarray) -> None:
    out = _apply(photo, "color_block", 1)
    rows, cols = np.nonzero(np.any(out != photo, axis=-1))
    block = out[rows.min() : rows.min() + 32, cols.min() : cols.max() + 1]
    assert block.shape[:2] == (32, 32) and len(np.unique(block.reshape(-1, 3), axis=0)) == 1
    with pytest.raises(ValueError, match="at least 32x32"):
        _apply(photo[:20], "color_block", 2)


def test_high_sharpen__raises_local_contrast(photo: np.ndarray) -> None:
    def detail(image: np.ndarray) -> float:
        gray = image.astype(float).mean(axis=-1)
        return float(np.abs(gray - ndi.uniform_filter(gray, 5)).mean())

    assert detail(_apply(photo, "high_sharpen", 2)) > 1.3 * detail(photo)


def test_contrast_change__identity_at_minus_0_2_and_direction_by_sign(photo: np.ndarray) -> None:
    values = np.linspace(0, 1, 101)
    assert np.allclose(curves(values, (0.3, 0.7)), values)
    assert np.abs(_apply(photo, "contrast_change", -0.2).astype(int) - photo).max() <= 1
    assert _apply(photo, "contrast_change", 0.3).std() > photo.std() > _apply(photo, "contrast_change", -0.6).std()
