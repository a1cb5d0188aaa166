"""Severity ordering over the bundled photographs, perceptible level 1, and byte-level determinism."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.ndimage as ndi
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.metrics import structural_similarity

from perceptflow.distortions import DISTORTIONS, apply_distortion, distortion_rng, distortions_in

NATURAL = list(distortions_in("natural"))
#: Types judged by mean CIEDE2000 (colour and tone changes, to which SSIM's structure term is blind).
COLOUR_DIFFERENCE = {"color_diffusion", "color_quantization", "color_saturation_hsv", "color_saturation_lab",
                     "brighten", "darken", "mean_shift", "contrast_change"}  # fmt: skip
#: Judged by CIEDE2000 after a 3 px Gaussian on L*a*b* (an S-CIELAB-like spatial colour difference): a
#: green-channel shift's per-pixel error saturates on texture once the shift exceeds the texture's scale.
SPATIAL_COLOUR_DIFFERENCE = {"color_shift"}
#: Types that change only chroma, hence leave achromatic (grey) photographs unchanged at every level.
CHROMA_ONLY = {"color_diffusion", "color_saturation_hsv", "color_saturation_lab", "hue"}
#: Types whose output depends on the generator.
RANDOM_TYPES = {"motion_blur", "color_shift", "white_noise", "white_noise_color_component", "impulse_noise",
                "multiplicative_noise", "denoise", "jitter", "non_eccentricity_patch", "color_block",
                "translate"}  # fmt: skip
#: A quick, varied subset of the demo photographs (five colour, three grey) for the default run.
QUICK_REFS = ("astronaut", "chelsea", "coffee", "flower", "rocket", "camera", "brick", "text")


def severity(reference: np.ndarray, distorted: np.ndarray, name: str) -> float:
    """Full-reference degradation (higher = worse): 1 - SSIM, or a colour difference for colour/tone types."""
    if name in COLOUR_DIFFERENCE | SPATIAL_COLOUR_DIFFERENCE:
        ref_lab, dist_lab = rgb2lab(reference), rgb2lab(distorted)
        if name in SPATIAL_COLOUR_DIFFERENCE:
            ref_lab, dist_lab = (ndi.gaussian_filter(lab, sigma=(3, 3, 0)) for lab in (ref_lab, dist_lab))
        return float(deltaE_ciede2000(ref_lab, dist_lab).mean())
    return 1.0 - float(structural_similarity(reference, distorted, channel_axis=-1, data_range=255))


def is_grey(image: np.ndarray) -> bool:
    return bool(np.ptp(image.astype(int), axis=-1).max() <= 2)


def severity_table(crops: dict[str, np.ndarray]) -> dict[str, dict[str, list[float]]]:
    """severity[type][ref] for levels 1..5 (default scheme), skipping chroma-only types on grey images."""
    table: dict[str, dict[str, list[float]]] = {}
    for name in NATURAL:
        table[name] = {}
        for ref, image in crops.items():
            if name in CHROMA_ONLY and is_grey(image):
                continue
            outs = [apply_distortion(image, name, level, distortion_rng(0, ref, name, level)) for level in range(1, 6)]
            table[name][ref] = [severity(image, out, name) for out in outs]
    return table


def check_monotone(table: dict[str, dict[str, list[float]]], per_type_floor: float) -> None:
    """>= 90% of (type, image) pairs strictly worsen level by level; every type's mean curve rises."""
    monotone = {name: [bool(np.all(np.diff(curve) > 0)) for curve in rows.values()] for name, rows in table.items()}
    overall = np.mean([flag for flags in monotone.values() for flag in flags])
    report = {name: round(float(np.mean(flags)), 2) for name, flags in monotone.items()}
    assert overall >= 0.9, f"only {overall:.1%} of (type, image) pairs are monotone: {report}"
    for name, rows in table.items():
        assert np.mean(monotone[name]) >= per_type_floor, f"{name}: {report[name]:.0%} monotone"
        mean_curve = np.mean(list(rows.values()), axis=0)
        assert np.all(np.diff(mean_curve) > 0), f"{name}: mean severity not increasing: {mean_curve}"


@pytest.fixture(scope="module")
def quick_table(demo_crops: dict[str, np.ndarray]) -> dict[str, dict[str, list[float]]]:
    return severity_table({ref: demo_crops[ref] for ref in QUICK_REFS})


def test_severity__worsens_level_by_level_on_a_demo_subset(quick_table: dict) -> None:
    check_monotone(quick_table, per_type_floor=0.6)


@pytest.mark.slow
def test_severity__worsens_level_by_level_on_all_demo_images(demo_crops: dict[str, np.ndarray]) -> None:
    check_monotone(severity_table(demo_crops), per_type_floor=0.75)


def test_level_1__is_perceptible_on_average(quick_table: dict) -> None:
    for name, rows in quick_table.items():
        first = float(np.mean([curve[0] for curve in rows.values()]))
        floor = 1.0 if name in COLOUR_DIFFERENCE else 0.5 if name in SPATIAL_COLOUR_DIFFERENCE else 0.005
        assert first >= floor, f"{name}: level 1 barely changes the image ({first:.4f} < {floor})"


@pytest.mark.parametrize("name", list(DISTORTIONS))
def test_level_1__is_never_the_identity(name: str, demo_crops: dict[str, np.ndarray]) -> None:
    for ref, image in demo_crops.items():
        out = apply_distortion(image, name, 1, distortion_rng(0, ref, name, 1))
        if name in CHROMA_ONLY and is_grey(image):
            assert np.abs(out.astype(int) - image).max() <= 1, f"{name} changed grey {ref}"
        else:
            assert not np.array_equal(out, image), f"{name} level 1 is the identity on {ref}"


@pytest.mark.parametrize("name", list(DISTORTIONS))
def test_determinism__same_seed_same_bytes_other_seed_differs(name: str, photo: np.ndarray) -> None:
    image = photo[:96, :112]
    first = apply_distortion(image, name, 3, distortion_rng(5, "ref", name, 3))
    again = apply_distortion(image, name, 3, distortion_rng(5, "ref", name, 3))
    other = apply_distortion(image, name, 3, distortion_rng(6, "ref", name, 3))
    assert np.array_equal(first, again)
    assert np.array_equal(first, other) == (name not in RANDOM_TYPES)


def test_determinism__independent_of_thread_count(photo: np.ndarray) -> None:
    jobs = [(name, level) for name in sorted(RANDOM_TYPES) for level in (1, 5)]

    def run(job: tuple[str, int]) -> bytes:
        name, level = job
        return apply_distortion(photo, name, level, distortion_rng(1, "astronaut", name, level)).tobytes()

    serial = [run(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(run, jobs)) == serial
