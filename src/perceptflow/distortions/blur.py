"""Blur family (KADID-10k types 1-3): Gaussian, lens (disk) and motion blur."""

from __future__ import annotations

import math

import numpy as np

from perceptflow.distortions._ops import filter_replicate, gaussian_blur_2d
from perceptflow.types import FloatImage

#: Sub-pixel samples per axis when integrating the disk kernel's pixel coverage.
_DISK_SUPERSAMPLE = 16


def gaussian_blur(image: FloatImage, sigma: float, rng: np.random.Generator) -> FloatImage:
    """Isotropic Gaussian blur (MATLAB ``imblurgauss``): std ``sigma`` px, support 2*ceil(2*sigma)+1."""
    return gaussian_blur_2d(image, sigma)


def lens_blur(image: FloatImage, radius: float, rng: np.random.Generator) -> FloatImage:
    """Defocus blur with an anti-aliased disk of ``radius`` px (MATLAB ``imblurlens``, disk kernel)."""
    return filter_replicate(image, disk_kernel(radius))


def motion_blur(image: FloatImage, length: float, rng: np.random.Generator) -> FloatImage:
    """Linear motion blur over ``length`` px at an angle ~ U[0, 180) degrees drawn from ``rng``.

    MATLAB ``imblurmotion`` (``fspecial('motion', length, angle)``); a length of 1 is the identity.
    """
    angle = float(rng.uniform(0.0, 180.0))
    return filter_replicate(image, motion_kernel(length, angle))


def disk_kernel(radius: float) -> np.ndarray:
    """Normalised disk of ``radius`` px, each weight the pixel's area inside the circle.

    ``fspecial('disk')`` integrates the area analytically; this integrates it numerically on a 16x16
    sub-pixel grid per pixel (weights agree to about 1e-3).
    """
    if radius <= 0:
        raise ValueError(f"disk radius must be > 0 px, got {radius}")
    half = math.ceil(radius - 0.5)
    sub = (np.arange(_DISK_SUPERSAMPLE) + 0.5) / _DISK_SUPERSAMPLE - 0.5
    centres = np.arange(-half, half + 1)
    coords = (centres[:, None] + sub[None, :]).ravel()  # sub-pixel positions along one axis
    inside = (coords[:, None] ** 2 + coords[None, :] ** 2) <= radius**2
    size = 2 * half + 1
    coverage = inside.reshape(size, _DISK_SUPERSAMPLE, size, _DISK_SUPERSAMPLE).mean(axis=(1, 3))
    return coverage / coverage.sum()


def motion_kernel(length: float, angle_deg: float) -> np.ndarray:
    """Normalised line kernel: weight max(0, 1 - distance to a centred segment of ``length`` px).

    ``fspecial('motion')``'s rule (a one-pixel-wide anti-aliased line); ``angle_deg`` is counter-clockwise
    from the x axis, with image rows pointing down.
    """
    if length < 1:
        raise ValueError(f"motion length must be >= 1 px, got {length}")
    half = (length - 1) / 2.0
    theta = math.radians(angle_deg)
    ux, uy = math.cos(theta), -math.sin(theta)
    extent = math.ceil(half) + 1
    ys, xs = np.mgrid[-extent : extent + 1, -extent : extent + 1].astype(np.float64)
    along = np.clip(xs * ux + ys * uy, -half, half)  # projection onto the segment, clamped to its ends
    dist = np.hypot(xs - along * ux, ys - along * uy)
    weights = np.maximum(0.0, 1.0 - dist)
    return weights / weights.sum()
