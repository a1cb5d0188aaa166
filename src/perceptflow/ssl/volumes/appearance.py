"""Models-Genesis appearance corruption for GVSL's restoration warm-up (He et al., GVSL, CVPR 2023).

GVSL's ``AppearanceTransform.rand_aug`` corrupts A into A' with, in order: local pixel shuffling (p = 0.8),
a random Bézier intensity mapping (p = 0.9) and in-painting with random-noise cuboids (up to 30, each further one
with p = 0.95). The public code never calls out-painting, and neither does this. Sizes scale with the crop:
shuffle blocks of side 2 to dim/10 (`local_shuffle`), cuboid sides dim/10 to dim/5 as in GVSL.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import comb

FloatVolume = npt.NDArray[np.float32]


@dataclass(frozen=True)
class AppearanceSettings:
    """Probabilities and sizes of `corrupt_appearance`."""

    shuffle_p: float = 0.8
    intensity_p: float = 0.9
    inpaint_p: float = 1.0
    max_cuboids: int = 30
    continue_p: float = 0.95


def bezier_intensity(volume: np.ndarray, rng: np.random.Generator, n_points: int = 1000) -> FloatVolume:
    """Map intensities (clipped to [0, 1]) through a cubic Bézier curve from (0, 0) to (1, 1), random inner points;
    half the time the curve is reversed (a decreasing map), as in Models Genesis."""
    control = np.vstack([[0.0, 0.0], rng.random((2, 2)), [1.0, 1.0]])
    t = np.linspace(0.0, 1.0, n_points)
    basis = np.stack([comb(3, i) * t**i * (1 - t) ** (3 - i) for i in range(4)], axis=1)
    xs, ys = basis @ control[:, 0], basis @ control[:, 1]
    order = np.argsort(xs)
    xs, ys = xs[order], ys[order]
    if rng.random() < 0.5:
        ys = ys[::-1]
    return np.interp(np.clip(volume, 0.0, 1.0), xs, ys).astype(np.float32)


def local_shuffle(volume: np.ndarray, rng: np.random.Generator, fraction: float = 0.5) -> FloatVolume:
    """Shuffle the voxels inside a ``fraction`` of the cells of a random grid of b^3 blocks.

    b is drawn from 2 to max(2, dim/10) and the grid gets a random offset: a vectorised form of Models Genesis'
    thousands of randomly placed blocks, covering about the same share of the volume.
    """
    out = np.array(volume, dtype=np.float32, copy=True)
    shape = np.array(out.shape)
    side = int(rng.integers(2, max(2, int(shape.min()) // 10) + 1))
    cells = shape // side
    if cells.min() == 0:
        return out
    offset = rng.integers(0, shape - cells * side + 1)
    region = tuple(slice(o, o + n * side) for o, n in zip(offset, cells, strict=True))
    blocks = out[region].reshape(cells[0], side, cells[1], side, cells[2], side).transpose(0, 2, 4, 1, 3, 5)
    blocks = blocks.reshape(-1, side**3)
    order = np.argsort(rng.random(blocks.shape), axis=1)
    chosen = rng.random(len(blocks)) < fraction
    blocks = np.where(chosen[:, None], np.take_along_axis(blocks, order, axis=1), blocks)
    restored = blocks.reshape(cells[0], cells[1], cells[2], side, side, side).transpose(0, 3, 1, 4, 2, 5)
    out[region] = restored.reshape(cells * side)
    return out


def inpaint_noise(
    volume: np.ndarray, rng: np.random.Generator, *, max_cuboids: int = 30, continue_p: float = 0.95
) -> FloatVolume:
    """Fill random cuboids (sides dim/10 to dim/5) with uniform noise; after the first, each with ``continue_p``."""
    out = np.array(volume, dtype=np.float32, copy=True)
    shape = np.array(volume.shape)
    low, high = np.maximum(1, shape // 10), np.maximum(1, shape // 5)
    for index in range(max_cuboids):
        if index and rng.random() >= continue_p:
            break
        size = rng.integers(low, high + 1)
        start = rng.integers(0, shape - size + 1)
        region = tuple(slice(s, s + n) for s, n in zip(start, size, strict=True))
        out[region] = rng.random(tuple(size), dtype=np.float32)
    return out


def corrupt_appearance(
    volume: np.ndarray, rng: np.random.Generator, settings: AppearanceSettings | None = None
) -> FloatVolume:
    """A' from A: local shuffle, Bézier intensity map and noise in-painting, each with its probability."""
    settings = settings or AppearanceSettings()
    out = np.asarray(volume, dtype=np.float32)
    if rng.random() < settings.shuffle_p:
        out = local_shuffle(out, rng)
    if rng.random() < settings.intensity_p:
        out = bezier_intensity(out, rng)
    if rng.random() < settings.inpaint_p:
        out = inpaint_noise(out, rng, max_cuboids=settings.max_cuboids, continue_p=settings.continue_p)
    return out.astype(np.float32, copy=False)
