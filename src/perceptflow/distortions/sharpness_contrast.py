"""Sharpness and contrast family (KADID-10k types 24-25): over-sharpening and contrast change."""

from __future__ import annotations

import numpy as np

from perceptflow.distortions._ops import curves, from_lab, gaussian_blur_2d, to_lab
from perceptflow.types import FloatImage

#: Gaussian std (px) of the unsharp mask (MATLAB ``imsharpenHi``'s default ``Radius``).
SHARPEN_RADIUS = 3.0


def high_sharpen(image: FloatImage, amount: float, rng: np.random.Generator) -> FloatImage:
    """Unsharp masking of the L* channel: ``L + amount * (L - gauss(L, 3 px))``, back to RGB, clipped.

    MATLAB ``imsharpenHi``: ``imsharpen(I, 'Radius', 3, 'Amount', amount)``, which sharpens L* of RGB input.
    """
    lab = to_lab(image)
    lightness = lab[..., 0]
    lab[..., 0] = lightness + amount * (lightness - gaussian_blur_2d(lightness, SHARPEN_RADIUS))
    return from_lab(lab).astype(image.dtype, copy=False)


def contrast_change(image: FloatImage, amount: float, rng: np.random.Generator) -> FloatImage:
    """Tone curve through (0.3, 0.25 - amount/4) and (0.7, 0.75 + amount/4) on every RGB value.

    MATLAB ``imcontrastc`` (``curves(I, [0.25-a/4, 0.75+a/4])``): ``amount`` > -0.2 raises contrast,
    < -0.2 lowers it, and -0.2 is the identity curve (not 0: the knots sit at x = 0.3 and 0.7).
    """
    return curves(image, (0.25 - amount / 4.0, 0.75 + amount / 4.0))
