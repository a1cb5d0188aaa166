"""Fixtures for the distortion tests: small seeded images and the bundled demo photographs as crops."""

from __future__ import annotations

import numpy as np
import pytest

from perceptflow.data import center_crop_resize, load_demo_sources

#: Side of the demo crops used by the bank-wide tests (small, to keep the suite fast).
DEMO_CROP = 128


@pytest.fixture(scope="session")
def demo_crops() -> dict[str, np.ndarray]:
    """All 20 bundled photographs, resized and centre-cropped to 128x128 uint8 RGB."""
    return {
        ref_id: center_crop_resize(image, size=DEMO_CROP, resize=DEMO_CROP, source=ref_id)
        for ref_id, image in load_demo_sources().items()
    }


@pytest.fixture(scope="session")
def photo(demo_crops: dict[str, np.ndarray]) -> np.ndarray:
    """One colourful natural photograph (astronaut), 128x128 uint8 RGB."""
    return demo_crops["astronaut"]


@pytest.fixture
def mid_gray() -> np.ndarray:
    """A flat 64x64 mid-grey image (value 128): noise statistics without clipping."""
    return np.full((64, 64, 3), 128, dtype=np.uint8)


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh seeded generator."""
    return np.random.default_rng(0)
