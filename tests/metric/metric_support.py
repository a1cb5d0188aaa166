"""Helpers of the metric tests: seeded textured images."""

from __future__ import annotations

import numpy as np
from PIL import Image


def smooth_image(rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """A uint8 (size, size, 3) colour field with texture."""
    coarse = rng.uniform(30, 225, (size // 8, size // 8, 3)).astype(np.uint8)
    smooth = np.asarray(Image.fromarray(coarse).resize((size, size), Image.Resampling.BICUBIC), dtype=np.float64)
    return np.clip(smooth + rng.normal(0, 12, smooth.shape), 0, 255).astype(np.uint8)
