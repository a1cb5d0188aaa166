"""Synthetic distortions: 25 KADID-10k types x 5 levels, the six DPS transforms and the DPS context protocol;
ten 3D MRI artefacts x 5 calibrated levels in the subpackage `perceptflow.distortions.medical` (domain ``medical``).

Example::

    rng = distortion_rng(0, "astronaut", "jpeg", 3)
    distorted = apply_distortion(image, "jpeg", 3, rng)  # uint8 (H, W, 3) in and out
"""

from perceptflow.distortions.api import apply_distortion, class_label, distortion_rng, level_value
from perceptflow.distortions.registry import (
    DISTORTIONS,
    FOUNDATION_TYPES,
    distortions_in,
    get_distortion,
)
from perceptflow.distortions.spec import DOMAINS, GROUPS, SCHEMES, DistortionSpec

__all__ = [
    "DISTORTIONS",
    "DOMAINS",
    "FOUNDATION_TYPES",
    "GROUPS",
    "SCHEMES",
    "DistortionSpec",
    "apply_distortion",
    "class_label",
    "distortion_rng",
    "distortions_in",
    "get_distortion",
    "level_value",
]
