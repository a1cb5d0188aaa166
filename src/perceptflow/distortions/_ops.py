"""Low-level image operations shared by the distortion families (float RGB in [0, 1], shape (H, W, 3)).

These are Python stand-ins for the MATLAB Image Processing Toolbox calls of the KADID-10k generator
(``imgaussfilt``, ``imfilter(..., 'replicate')``, ``rgb2lab``/``lab2rgb``, the generator's ``curves``).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.ndimage as ndi
import scipy.signal
from scipy.interpolate import CubicSpline
from skimage.color import rgb2lab, xyz2rgb

from perceptflow.types import FloatImage

#: CIE D65 reference white (2° observer), the default of MATLAB's rgb2lab and skimage's.
_D65 = np.array([0.95047, 1.0, 1.08883])


def gaussian_blur_2d(image: FloatImage, sigma: float) -> FloatImage:
    """MATLAB ``imgaussfilt``: Gaussian of std ``sigma`` (px), support 2*ceil(2*sigma)+1, replicate edges.

    Filters each channel of an (H, W) or (H, W, C) array over the two spatial axes only.
    """
    return ndi.gaussian_filter(image, sigma=sigma, mode="nearest", radius=math.ceil(2 * sigma), axes=(0, 1))


def filter_replicate(image: FloatImage, kernel: np.ndarray) -> FloatImage:
    """MATLAB ``imfilter(image, kernel, 'replicate')`` for an odd-sized 2-D kernel, applied per channel.

    Correlation with replicate padding, computed by FFT (kernels here are up to ~25 px wide).
    """
    kh, kw = kernel.shape
    if kh % 2 == 0 or kw % 2 == 0:
        raise ValueError(f"kernel shape must be odd in both axes, got {kernel.shape}")
    pad = ((kh // 2, kh // 2), (kw // 2, kw // 2)) + ((0, 0),) * (image.ndim - 2)
    padded = np.pad(image, pad, mode="edge")
    flipped = kernel[::-1, ::-1].reshape(kernel.shape + (1,) * (image.ndim - 2))
    out = scipy.signal.fftconvolve(padded, flipped.astype(image.dtype), mode="valid", axes=(0, 1))
    return out.astype(image.dtype, copy=False)


def to_lab(image: FloatImage) -> np.ndarray:
    """Convert sRGB in [0, 1] to CIELAB (D65): L in [0, 100], a and b roughly in [-128, 127]."""
    return rgb2lab(image)


def from_lab(lab: np.ndarray) -> FloatImage:
    """CIELAB (D65) -> sRGB, out-of-gamut values clipped to [0, 1] (MATLAB ``truncate(lab2rgb(lab))``)."""
    # skimage's lab2rgb warns on every negative Z, which saturated edits produce by design; same formula here.
    fy = (lab[..., 0] + 16.0) / 116.0
    f = np.stack([fy + lab[..., 1] / 500.0, fy, fy - lab[..., 2] / 200.0], axis=-1)
    xyz = np.where(f > 6.0 / 29.0, f**3, (f - 16.0 / 116.0) * 3.0 * (6.0 / 29.0) ** 2) * _D65
    xyz[..., 2] = np.maximum(xyz[..., 2], 0.0)
    return xyz2rgb(xyz)


def curves(values: np.ndarray, knots_y: tuple[float, ...]) -> np.ndarray:
    """The KADID generator's tone curve: a spline through (0, 0), the knots and (1, 1), clipped to [0, 1].

    One knot y sits at x = 0.5 (a parabola, MATLAB ``spline`` with three points); two knots sit at
    x = 0.3 and 0.7 with a fixed (0.5, 0.5) between them (not-a-knot cubic, as MATLAB ``spline``).
    """
    if len(knots_y) == 1:
        c = knots_y[0]
        curve = (2.0 - 4.0 * c) * values**2 + (4.0 * c - 1.0) * values  # parabola through (0,0),(.5,c),(1,1)
        return np.clip(curve, 0.0, 1.0)
    if len(knots_y) == 2:
        spline = CubicSpline([0.0, 0.3, 0.5, 0.7, 1.0], [0.0, knots_y[0], 0.5, knots_y[1], 1.0], bc_type="not-a-knot")
        return np.clip(spline(values), 0.0, 1.0).astype(values.dtype, copy=False)
    raise ValueError(f"curves takes 1 or 2 knot values, got {len(knots_y)}")


def mapmm(values: np.ndarray) -> np.ndarray:
    """Min-max normalise to [0, 1] (MATLAB ``mapmm``); a constant array is returned unchanged."""
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if low < high else values


def to_uint8(image: FloatImage) -> np.ndarray:
    """Float [0, 1] -> uint8 with rounding and clipping."""
    return np.rint(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def from_uint8(image: np.ndarray) -> FloatImage:
    """uint8 -> float32 in [0, 1]."""
    return image.astype(np.float32) / np.float32(255.0)
