"""Reading images as 8-bit RGB, reference crops, and the bundled demo sources."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from perceptflow.data import DEMO_SOURCES, ImageReadError, center_crop_resize, load_demo_sources, load_rgb


def test_demo_has_twenty_distinct_rgb_sources() -> None:
    sources = load_demo_sources()
    assert len(sources) == len(DEMO_SOURCES) == 20
    for ref_id, image in sources.items():
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3, ref_id
        assert min(image.shape[:2]) >= 160, ref_id
    fingerprints = {image[::37, ::37].tobytes() for image in sources.values()}
    assert len(fingerprints) == 20


@pytest.mark.parametrize(
    ("mode", "array"),
    [
        ("L", np.full((8, 9), 100, np.uint8)),
        ("RGBA", np.full((8, 9, 4), 100, np.uint8)),
        ("I;16", np.full((8, 9), 65535, np.uint16)),
    ],
)
def test_non_rgb_images_are_converted_with_a_note(
    tmp_path: Path, mode: str, array: np.ndarray, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / f"image_{mode.replace(';', '')}.png"
    Image.fromarray(array).save(path)  # Pillow infers L, RGBA and I;16 from the dtype and shape
    with caplog.at_level(logging.DEBUG, logger="perceptflow.data.images"):
        image = load_rgb(path)
    assert image.shape == (8, 9, 3) and image.dtype == np.uint8
    assert image.max() == (255 if mode == "I;16" else 100)
    assert str(path) in caplog.text


def test_palette_image_is_converted(tmp_path: Path) -> None:
    path = tmp_path / "palette.png"
    Image.fromarray(np.full((5, 5, 3), (200, 10, 10), np.uint8)).convert("P", palette=Image.Palette.ADAPTIVE).save(path)
    assert tuple(load_rgb(path)[0, 0]) == (200, 10, 10)


def test_unreadable_and_missing_files_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    with pytest.raises(ImageReadError, match=r"notes\.png"):
        load_rgb(bad)
    with pytest.raises(ImageReadError, match=r"missing\.png"):
        load_rgb(tmp_path / "missing.png")


def test_crop_resizes_short_side_then_centre_crops() -> None:
    image = np.zeros((100, 200, 3), np.uint8)
    image[:, 100:] = 255
    crop = center_crop_resize(image, size=40, resize=50, source="x")
    assert crop.shape == (40, 40, 3)
    assert crop[:, :15].max() == 0 and crop[:, 25:].min() == 255


def test_too_small_image_names_file_and_sizes() -> None:
    with pytest.raises(ImageReadError, match=r"tiny.png: image is 30x20 .* crop 64x64"):
        center_crop_resize(np.zeros((20, 30, 3), np.uint8), size=64, resize=None, source="tiny.png")
