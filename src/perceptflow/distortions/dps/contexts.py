"""DPS contexts (Pihlgren et al., arXiv 2304.02265): seeded rankings of six distortions and 2AFC triplets.

A *context* is a ranking (permutation) of the six DPS distortions, earlier = more similar to the reference.
A triplet is (reference, p0, p1, judge) at 64x64: p0 and p1 are the reference under two different
distortions of the ranking, drawn with DPS's own parameter ranges, and ``judge`` is 0.0 when p0's
distortion ranks earlier (p0 is the "more similar" image), else 1.0, as BAPPS's judge (fraction preferring p1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from perceptflow.distortions._ops import from_uint8, to_uint8
from perceptflow.distortions.dps import ops as dps_ops
from perceptflow.types import FloatImage, ImageArray

#: The six DPS distortions, in the order of the DPS code.
DPS_TYPES = ("rotate", "translate", "darken_dps", "hue", "strong_blur", "zoom_in")
#: DPS's patch size.
DPS_SIZE = 64
#: DPS's torchvision parameter ranges: uniform draws within [low, high].
DPS_RANGES: dict[str, tuple[float, float]] = {
    "rotate": (30.0, 330.0),  # RandomRotation(degrees=(30, 330)), degrees
    "translate": (-0.5, 0.5),  # RandomAffine(0, translate=(0.5, 0.5)): dx, dy as fractions of width, height
    "darken_dps": (0.1, 0.5),  # ColorJitter(brightness=(0.1, 0.5)): brightness factor
    "hue": (-0.5, 0.5),  # ColorJitter(hue=0.5): hue shift in turns
    "strong_blur": (4.0, 10.0),  # GaussianBlur(kernel_size=(11, 21), sigma=(4, 10)): sigma in px
    "zoom_in": (1.1, 2.0),  # RandomAffine(0, scale=(1.1, 2)): magnification
}


def make_rankings(count: int, seed: int) -> list[tuple[str, ...]]:
    """``count`` seeded rankings (contexts) of the six DPS distortions; the same seed gives the same list.

    Raises:
        ValueError: ``count`` < 1 or a negative seed.
    """
    if count < 1:
        raise ValueError(f"number of rankings must be >= 1, got {count}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    rng = np.random.default_rng(seed)
    return [tuple(DPS_TYPES[i] for i in rng.permutation(len(DPS_TYPES))) for _ in range(count)]


def sample_dps(image: FloatImage, name: str, rng: np.random.Generator) -> tuple[FloatImage, dict[str, float]]:
    """Apply DPS distortion ``name`` with parameters drawn from :data:`DPS_RANGES`; returns (image, params).

    Raises:
        KeyError: ``name`` is not a DPS distortion (the message lists them).
    """
    if name not in DPS_RANGES:
        raise KeyError(f"unknown DPS distortion {name!r}; valid: {', '.join(DPS_TYPES)}")
    low, high = DPS_RANGES[name]
    if name == "translate":
        height, width = image.shape[:2]
        dx, dy = (round(float(rng.uniform(low, high)) * size) for size in (width, height))
        return dps_ops.shift(image, dx, dy), {"dx": float(dx), "dy": float(dy)}
    value = float(rng.uniform(low, high))
    ops = {"rotate": dps_ops.rotate, "darken_dps": dps_ops.darken, "hue": dps_ops.hue,
           "strong_blur": dps_ops.strong_blur, "zoom_in": dps_ops.zoom_in}  # fmt: skip
    return ops[name](image, value, rng), {"value": value}


def make_triplet(
    image64: ImageArray, ranking: Sequence[str], rng: np.random.Generator
) -> tuple[ImageArray, ImageArray, ImageArray, float]:
    """One 2AFC triplet (ref, p0, p1, judge) from a uint8 RGB patch under the context ``ranking``.

    Two different distortions are drawn from ``ranking``; ``judge`` is 0.0 when p0's ranks earlier.

    Raises:
        ValueError: the patch is not uint8 (H, W, 3), or ``ranking`` is not a permutation of :data:`DPS_TYPES`.
    """
    _check_ranking(ranking)
    if image64.dtype != np.uint8 or image64.ndim != 3 or image64.shape[2] != 3:
        raise ValueError(f"patch must be uint8 (H, W, 3), got {image64.dtype} {image64.shape}")
    first, second = rng.choice(len(ranking), size=2, replace=False)
    ref = from_uint8(image64)
    p0, _ = sample_dps(ref, ranking[first], rng)
    p1, _ = sample_dps(ref, ranking[second], rng)
    judge = 0.0 if first < second else 1.0
    return image64.copy(), to_uint8(p0), to_uint8(p1), judge


def resize_for_dps(image: ImageArray, size: int = DPS_SIZE) -> ImageArray:
    """Resize a uint8 RGB image to ``size`` x ``size`` (bicubic, antialiased), as DPS's loader does."""
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BICUBIC))


def _check_ranking(ranking: Sequence[str]) -> None:
    if sorted(ranking) != sorted(DPS_TYPES):
        raise ValueError(f"a ranking must order each of {list(DPS_TYPES)} exactly once, got {list(ranking)}")
