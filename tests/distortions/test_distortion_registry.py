"""Registry, level schemes, class labels, seeding and input validation."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from perceptflow.distortions import (
    DISTORTIONS,
    FOUNDATION_TYPES,
    GROUPS,
    SCHEMES,
    apply_distortion,
    class_label,
    distortion_rng,
    distortions_in,
    get_distortion,
    level_value,
)

#: The KADID-10k / KADIS-700k generator table (Lin et al., KADID-10k, QoMEX 2019), KADID order.
KADIS_TABLE = {
    "gaussian_blur": (0.1, 0.5, 1, 2, 5),
    "lens_blur": (1, 2, 4, 6, 8),
    "motion_blur": (1, 2, 4, 6, 10),
    "color_diffusion": (1, 3, 6, 8, 12),
    "color_shift": (1, 3, 6, 8, 12),
    "color_quantization": (64, 48, 32, 16, 8),
    "color_saturation_hsv": (0.4, 0.2, 0.1, 0, -0.4),
    "color_saturation_lab": (1, 2, 3, 6, 9),
    "jpeg2000": (16, 32, 45, 120, 400),
    "jpeg": (43, 36, 24, 7, 4),
    "white_noise": (0.001, 0.002, 0.003, 0.005, 0.01),
    "white_noise_color_component": (1e-4, 5e-4, 1e-3, 2e-3, 3e-3),
    "impulse_noise": (0.001, 0.005, 0.01, 0.02, 0.03),
    "multiplicative_noise": (0.001, 0.005, 0.01, 0.02, 0.05),
    "denoise": (0.01, 0.03, 0.05, 0.1, 0.15),
    "brighten": (0.1, 0.2, 0.4, 0.7, 1.1),
    "darken": (0.05, 0.1, 0.2, 0.4, 0.8),
    "mean_shift": (0.15, 0.08, 0, -0.08, -0.15),
    "jitter": (0.05, 0.1, 0.2, 0.5, 1),
    "non_eccentricity_patch": (20, 40, 60, 80, 100),
    "pixelate": (0.01, 0.05, 0.1, 0.2, 0.5),
    "quantization": (20, 16, 13, 10, 7),
    "color_block": (2, 4, 6, 8, 10),
    "high_sharpen": (1, 2, 3, 6, 12),
    "contrast_change": (0.3, 0.15, 0, -0.4, -0.6),
}
METHODS_MD = Path(__file__).resolve().parents[3] / "shared" / "design" / "METHODS.md"


def test_natural_types__are_the_25_kadid_types_in_kadid_order() -> None:
    natural = distortions_in("natural")
    assert list(natural) == list(KADIS_TABLE)
    assert [spec.id for spec in natural.values()] == list(range(1, 26))
    assert all(name == spec.name for name, spec in DISTORTIONS.items())


def test_kadis_levels__equal_the_generator_table_verbatim() -> None:
    for name, values in KADIS_TABLE.items():
        assert get_distortion(name).kadis_levels == pytest.approx(values, abs=0), name
        assert [level_value(name, level, "kadis") for level in range(1, 6)] == pytest.approx(values, abs=0)


def test_kadis_levels__equal_the_table_in_methods_md() -> None:
    if not METHODS_MD.is_file():
        pytest.skip(f"{METHODS_MD} not found")
    rows = re.findall(r"^\| (\d+) \| [^|]+ \| `(\w+)` \| ([^|]+) \|$", METHODS_MD.read_text(), flags=re.MULTILINE)
    number = r"[−-]?\d+(?:\.\d+)?(?:e[−-]?\d+)?"
    table = {int(row[0]): [float(v.replace("−", "-")) for v in re.findall(number, row[2])[-5:]] for row in rows}
    assert sorted(table) == list(range(1, 26))
    for spec in distortions_in("natural").values():
        assert list(spec.kadis_levels) == pytest.approx(table[spec.id], abs=0), spec.name


def test_specs__are_well_formed() -> None:
    for spec in DISTORTIONS.values():
        assert spec.group in GROUPS and len(spec.levels) == 5 and spec.parameter and spec.description
        assert callable(spec.fn)
    assert all(DISTORTIONS[name].domain == "natural" for name in FOUNDATION_TYPES)
    assert [spec.id for spec in distortions_in("dps").values()] == list(range(101, 107))
    assert SCHEMES == ("severity", "kadis")


def test_get_distortion__unknown_name_lists_valid_choices_and_close_match() -> None:
    with pytest.raises(KeyError, match=r"gausian_blur.*did you mean gaussian_blur.*valid: .*jpeg2000"):
        get_distortion("gausian_blur")


@pytest.mark.parametrize("level", [0, 6, -1, 2.0, True])
def test_level_value__level_outside_1_to_5_names_the_range(level: object) -> None:
    with pytest.raises(ValueError, match=r"1\.\.5"):
        level_value("jpeg", level)  # type: ignore[arg-type]


def test_level_value__unknown_scheme_and_kadis_for_dps_are_errors() -> None:
    with pytest.raises(ValueError, match=r"'mild'.*severity.*kadis"):
        level_value("jpeg", 1, "mild")
    with pytest.raises(ValueError, match="not a KADID-10k type"):
        level_value("rotate", 1, "kadis")
    with pytest.raises(ValueError, match="unknown distortion domain 'space'"):
        distortions_in("space")


def test_class_label__follows_contrique_numbering() -> None:
    assert class_label("gaussian_blur", 1) == 1
    assert class_label("jpeg", 3) == 9 * 5 + 3
    assert class_label("contrast_change", 5) == 125
    assert class_label(None, 0) == 0 and class_label("pristine", 1) == 0
    labels = {class_label(name, level) for name in KADIS_TABLE for level in range(1, 6)}
    assert labels == set(range(1, 126))


def test_class_label__errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match=r"1\.\.5"):
        class_label("jpeg", 6)
    with pytest.raises(ValueError, match="no class label"):
        class_label("zoom_in", 1)
    with pytest.raises(KeyError, match="valid"):
        class_label("blur", 1)


def test_distortion_rng__same_key_same_stream_and_keys_separate() -> None:
    draw = distortion_rng(0, "astronaut", "jpeg", 3).random(4)
    assert np.array_equal(draw, distortion_rng(0, "astronaut", "jpeg", 3).random(4))
    for other in [(1, "astronaut", "jpeg", 3), (0, "coffee", "jpeg", 3), (0, "astronaut", "jpeg2000", 3),
                  (0, "astronaut", "jpeg", 4)]:  # fmt: skip
        assert not np.array_equal(draw, distortion_rng(*other).random(4)), other
    with pytest.raises(ValueError, match="non-negative"):
        distortion_rng(-1, "a", "jpeg", 1)


def test_distortion_rng__identical_in_a_fresh_process_with_another_hash_seed() -> None:
    code = "from perceptflow.distortions import distortion_rng as r; print(r(7, 'r', 'jitter', 2).integers(1 << 62))"
    outputs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={"PYTHONHASHSEED": seed}).stdout.strip()
        for seed in ("1", "2")
    }  # fmt: skip
    assert outputs == {str(distortion_rng(7, "r", "jitter", 2).integers(1 << 62))}


def test_apply_distortion__returns_uint8_of_the_same_shape(photo: np.ndarray, rng: np.random.Generator) -> None:
    image = photo[:80, :100]
    out = apply_distortion(image, "gaussian_blur", 2, rng)
    assert out.dtype == np.uint8 and out.shape == image.shape
    assert not np.array_equal(out, image)


@pytest.mark.parametrize(
    "image",
    [np.zeros((8, 8), np.uint8), np.zeros((8, 8, 4), np.uint8), np.zeros((8, 8, 3), np.uint16), [[0, 0, 0]]],
    ids=["gray", "rgba", "uint16", "list"],
)
def test_apply_distortion__rejects_non_rgb8_input(image: object, rng: np.random.Generator) -> None:
    with pytest.raises(ValueError, match=r"uint8 array of shape \(H, W, 3\)"):
        apply_distortion(image, "jpeg", 1, rng)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "level"), [("gaussian_blur", 1), ("motion_blur", 1), ("color_saturation_lab", 1), ("mean_shift", 3)]
)
def test_kadis_scheme__has_identity_levels_that_severity_replaces(photo: np.ndarray, name: str, level: int) -> None:
    # e.g. KADIS Gaussian blur sigma 0.1 is byte-identical at 8 bits; no severity level is.
    kadis = apply_distortion(photo, name, level, np.random.default_rng(0), scheme="kadis")
    severity = apply_distortion(photo, name, level, np.random.default_rng(0))
    assert np.array_equal(kadis, photo)
    assert not np.array_equal(severity, photo)
