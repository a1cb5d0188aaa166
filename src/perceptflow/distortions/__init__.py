"""Synthetic distortions: 25 KADID-10k types x 5 levels, the six DPS transforms and the DPS context protocol;
ten 3D MRI artefacts x 5 calibrated levels (domain ``medical``, :func:`apply_volume_distortion`).

Example::

    rng = distortion_rng(0, "astronaut", "jpeg", 3)
    distorted = apply_distortion(image, "jpeg", 3, rng)  # uint8 (H, W, 3) in and out
"""

from perceptflow.distortions.api import apply_distortion, class_label, distortion_rng, level_value
from perceptflow.distortions.medical_api import apply_volume_distortion, medical_class_label
from perceptflow.distortions.registry import (
    DISTORTIONS,
    FOUNDATION_TYPES,
    MEDICAL_DISTORTIONS,
    distortions_in,
    get_distortion,
)
from perceptflow.distortions.spec import DOMAINS, GROUPS, SCHEMES, DistortionSpec

__all__ = [
    "DISTORTIONS",
    "DOMAINS",
    "FOUNDATION_TYPES",
    "GROUPS",
    "MEDICAL_DISTORTIONS",
    "SCHEMES",
    "DistortionSpec",
    "apply_distortion",
    "apply_volume_distortion",
    "class_label",
    "distortion_rng",
    "distortions_in",
    "get_distortion",
    "level_value",
    "medical_class_label",
]
