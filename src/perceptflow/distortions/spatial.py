"""Spatial family (KADID-10k types 19-21, 23): jitter, non-eccentricity patches, pixelation, colour blocks.

Quantisation (type 22), also in ARNIQA's spatial group, lives in ``quantization.py``.
"""

from __future__ import annotations

import math

import numpy as np

from perceptflow.types import FloatImage

#: Jitter warps the image this many times in a row (MATLAB ``imjitter``).
JITTER_ITERATIONS = 5
#: Side (px) of the patches moved by non-eccentricity and of the colour blocks.
NONECC_PATCH, NONECC_RADIUS, BLOCK_PATCH = 16, 16, 32


def jitter(image: FloatImage, amount: float, rng: np.random.Generator) -> FloatImage:
    """Five successive bicubic warps, each moving every pixel by N(0, ``amount``²) px in x and y.

    MATLAB ``imjitter`` (``imscatter(I, [], amount, 5)``, ``imwarpmap(..., 'bicubic')``): cubic-convolution
    resampling (torch ``grid_sample``), edges replicated.
    """
    import torch  # here, not at module level: importing the registry stays free of torch's start-up time
    import torch.nn.functional as tnf

    height, width = image.shape[:2]
    out = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1)[None]
    rows, cols = torch.meshgrid(
        torch.arange(height, dtype=torch.float32), torch.arange(width, dtype=torch.float32), indexing="ij"
    )
    scale = torch.tensor([2.0 / max(width - 1, 1), 2.0 / max(height - 1, 1)])
    for _ in range(JITTER_ITERATIONS):  # each warp resamples the previous one, so they cannot be fused
        shifts = torch.from_numpy(rng.standard_normal((2, height, width)).astype(np.float32) * np.float32(amount))
        grid = torch.stack([cols + shifts[1], rows + shifts[0]], dim=-1) * scale - 1.0  # (x, y) in [-1, 1]
        out = tnf.grid_sample(out, grid[None], mode="bicubic", padding_mode="border", align_corners=True)
    return out[0].permute(1, 2, 0).clamp(0.0, 1.0).numpy().astype(image.dtype, copy=False)


def non_eccentricity_patch(image: FloatImage, count: float, rng: np.random.Generator) -> FloatImage:
    """Copy ``count`` 16x16 patches, each onto a spot up to 8 px away (MATLAB ``imnoneccentricity``).

    Sources lie at least 16 px inside the border; the image must be at least 48x48.
    """
    n = round(count)
    height, width = image.shape[:2]
    _check_size(image, NONECC_PATCH + 2 * NONECC_RADIUS, "non_eccentricity_patch")
    h_max, w_max = height - NONECC_PATCH - NONECC_RADIUS, width - NONECC_PATCH - NONECC_RADIUS
    draws = rng.random((n, 4))
    out = image.copy()
    for u_w, u_h, v_w, v_h in draws:  # sequential on purpose: a later patch may copy an earlier one
        top = round(u_h * (h_max - NONECC_RADIUS)) + NONECC_RADIUS
        left = round(u_w * (w_max - NONECC_RADIUS)) + NONECC_RADIUS
        patch = out[top : top + NONECC_PATCH, left : left + NONECC_PATCH].copy()
        new_top = round((v_h - 0.5) * NONECC_RADIUS + top)
        new_left = round((v_w - 0.5) * NONECC_RADIUS + left)
        out[new_top : new_top + NONECC_PATCH, new_left : new_left + NONECC_PATCH] = patch
    return out


def pixelate(image: FloatImage, strength: float, rng: np.random.Generator) -> FloatImage:
    """Nearest-neighbour downscale by z = 0.95 - strength^0.6, then nearest upscale to the original size.

    MATLAB ``impixelate``; the small image has ceil(z * size) pixels per axis, as ``imresize``.
    """
    scale = 0.95 - strength**0.6
    if scale <= 0:
        raise ValueError(f"pixelate strength must be < {0.95 ** (1 / 0.6):.3f}, got {strength}")
    height, width = image.shape[:2]
    small_h, small_w = max(1, math.ceil(scale * height)), max(1, math.ceil(scale * width))
    small = image[_nearest(height, small_h)][:, _nearest(width, small_w)]
    return small[_nearest(small_h, height)][:, _nearest(small_w, width)]


def color_block(image: FloatImage, count: float, rng: np.random.Generator) -> FloatImage:
    """Paint ``count`` opaque 32x32 squares of uniform random colour at random places (``imcolorblock``)."""
    n = round(count)
    height, width = image.shape[:2]
    _check_size(image, BLOCK_PATCH, "color_block")
    colors = rng.random((n, 3)).astype(image.dtype)
    corners = rng.random((n, 2)) * [width - BLOCK_PATCH, height - BLOCK_PATCH]
    out = image.copy()
    for color, (x, y) in zip(colors, np.rint(corners).astype(int), strict=True):  # later blocks paint over
        out[y : y + BLOCK_PATCH, x : x + BLOCK_PATCH] = color
    return out


def _nearest(n_in: int, n_out: int) -> np.ndarray:
    """Source indices of nearest-neighbour resampling from ``n_in`` to ``n_out`` pixel centres."""
    return np.minimum(((np.arange(n_out) + 0.5) * (n_in / n_out)).astype(int), n_in - 1)


def _check_size(image: FloatImage, minimum: int, name: str) -> None:
    height, width = image.shape[:2]
    if height < minimum or width < minimum:
        raise ValueError(f"{name} needs an image of at least {minimum}x{minimum} px, got {width}x{height}")
