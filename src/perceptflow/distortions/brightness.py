"""Brightness family (KADID-10k types 16-18): brighten, darken and mean shift."""

from __future__ import annotations

import numpy as np

from perceptflow.distortions._ops import curves, from_lab, to_lab
from perceptflow.types import FloatImage


def brighten(image: FloatImage, amount: float, rng: np.random.Generator) -> FloatImage:
    """Lift mid-tones with the tone curve through (0.5, 0.5 + amount/2), mixing RGB and L* versions 2:1.

    MATLAB ``imbrighten``: ``(2 * curves(I, c) + truncate(lab2rgb(curves(L*, c))) / 3``.
    """
    return _tone_mix(image, 0.5 + amount / 2.0)


def darken(image: FloatImage, amount: float, rng: np.random.Generator) -> FloatImage:
    """Lower mid-tones with the tone curve through (0.5, 0.5 - amount/2), mixing RGB and L* versions 2:1.

    MATLAB ``imdarken``, written as the mirror image of ``imbrighten``.
    """
    return _tone_mix(image, 0.5 - amount / 2.0)


def mean_shift(image: FloatImage, amount: float, rng: np.random.Generator) -> FloatImage:
    """Add ``amount`` to every RGB value, clipped to [0, 1] (MATLAB ``immeanshift``)."""
    return np.clip(image + np.asarray(amount, dtype=image.dtype), 0.0, 1.0)


def _tone_mix(image: FloatImage, knot: float) -> FloatImage:
    lab = to_lab(image)
    lab[..., 0] = curves(lab[..., 0] / 100.0, (knot,)) * 100.0
    rgb_curve = curves(image, (knot,))
    return ((2.0 * rgb_curve + from_lab(lab)) / 3.0).astype(image.dtype, copy=False)
