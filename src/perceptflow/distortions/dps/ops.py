"""The six DPS distortions (Pihlgren et al., arXiv 2304.02265) as pure functions of explicit parameters.

DPS draws them with torchvision's random transforms; here the same torchvision functional ops take
parameters drawn from a numpy generator (see ``dps.py`` for the protocol's ranges). The registry wrappers
(``fn(image, value, rng)``) fix the severity parameter and draw only a direction where one is needed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from perceptflow.types import FloatImage

if TYPE_CHECKING:
    import torch

#: ``GaussianBlur(kernel_size=(11, 21))`` in DPS: 11 px wide, 21 px tall.
STRONG_BLUR_KERNEL = (11, 21)


def rotate(image: FloatImage, angle: float, rng: np.random.Generator) -> FloatImage:
    """Rotate by ``angle`` degrees counter-clockwise about the centre; nearest neighbour, black fill."""
    return _torch_op(image, lambda t, tvf: tvf.rotate(t, float(angle)))


def translate(image: FloatImage, fraction: float, rng: np.random.Generator) -> FloatImage:
    """Shift by ``fraction`` of the image size in a direction ~ U[0, 360) degrees drawn from ``rng``."""
    height, width = image.shape[:2]
    theta = float(rng.uniform(0.0, 2.0 * math.pi))
    return shift(image, round(fraction * width * math.cos(theta)), round(fraction * height * math.sin(theta)))


def shift(image: FloatImage, dx: int, dy: int) -> FloatImage:
    """Shift right by ``dx`` and down by ``dy`` px with black fill (``RandomAffine(0, translate=...)``)."""
    return _torch_op(
        image, lambda t, tvf: tvf.affine(t, angle=0.0, translate=[int(dx), int(dy)], scale=1.0, shear=[0.0])
    )


def darken(image: FloatImage, factor: float, rng: np.random.Generator) -> FloatImage:
    """Multiply brightness by ``factor`` < 1 (``ColorJitter(brightness=...)``)."""
    return _torch_op(image, lambda t, tvf: tvf.adjust_brightness(t, float(factor)))


def hue(image: FloatImage, shift_turns: float, rng: np.random.Generator) -> FloatImage:
    """Rotate hue by ``shift_turns`` of a full turn, within [-0.5, 0.5] (``ColorJitter(hue=...)``)."""
    if not -0.5 <= shift_turns <= 0.5:
        raise ValueError(f"hue shift must be within [-0.5, 0.5] turns, got {shift_turns}")
    return _torch_op(image, lambda t, tvf: tvf.adjust_hue(t, float(shift_turns)))


def strong_blur(image: FloatImage, sigma: float, rng: np.random.Generator) -> FloatImage:
    """Gaussian blur of std ``sigma`` px with DPS's fixed 11x21 kernel, reflected edges."""
    return _torch_op(image, lambda t, tvf: tvf.gaussian_blur(t, list(STRONG_BLUR_KERNEL), [float(sigma)] * 2))


def zoom_in(image: FloatImage, scale: float, rng: np.random.Generator) -> FloatImage:
    """Magnify by ``scale`` > 1 about the centre, nearest neighbour (``RandomAffine(0, scale=...)``)."""
    return _torch_op(image, lambda t, tvf: tvf.affine(t, angle=0.0, translate=[0, 0], scale=float(scale), shear=[0.0]))


def _torch_op(image: FloatImage, op: Callable[[torch.Tensor, ModuleType], torch.Tensor]) -> FloatImage:
    """Run ``op(tensor, torchvision.transforms.functional)`` on the image as a (3, H, W) float32 tensor."""
    # Imported here so that importing the registry (and the CLI's ``list``) does not pay torch's start-up time.
    import torch
    import torchvision.transforms.functional as tvf

    tensor = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1)
    out = op(tensor, tvf)
    return out.permute(1, 2, 0).clamp(0.0, 1.0).numpy().astype(image.dtype, copy=False)
