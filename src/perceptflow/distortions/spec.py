"""The distortion record: one named, documented, pure function with its per-level parameter values."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from perceptflow.types import FloatImage

#: Level schemes: ``severity`` (default; every level perceptible, ordered by severity) and ``kadis``
#: (the KADID-10k / KADIS-700k table verbatim, for CONTRIQUE-compatible class labels).
SCHEMES = ("severity", "kadis")
#: Distortion domains a spec may belong to.
DOMAINS = ("natural", "dps", "medical")
#: ARNIQA's seven groups (composite chains draw at most one type per group).
GROUPS = ("blur", "color", "compression", "noise", "brightness", "spatial", "sharpness_contrast")
#: Number of levels per type.
N_LEVELS = 5

#: A distortion: float RGB (H, W, 3) in [0, 1], parameter value, generator -> same shape in [0, 1].
#: Medical types take and return a float32 volume (D, H, W) in ~[0, 1] instead (not clipped: ringing,
#: spikes and Rician noise overshoot); :func:`perceptflow.distortions.medical.api.apply_volume_distortion`.
DistortionFn = Callable[[FloatImage, float, np.random.Generator], FloatImage]


@dataclass(frozen=True)
class DistortionSpec:
    """One registry entry.

    Attributes:
        id: KADID-10k type id 1..25; DPS types use ids >= 101 and have no class label; medical types use
            ids >= 201 and their own labels (:func:`perceptflow.distortions.medical.api.medical_class_label`).
        name: snake_case registry key, e.g. ``"gaussian_blur"``.
        group: one of :data:`GROUPS`.
        domain: one of :data:`DOMAINS`.
        levels: the five parameter values of the default ``severity`` scheme, mildest first.
        kadis_levels: the five values of the KADID-10k/KADIS table, verbatim; empty for non-KADID types.
        parameter: what a value means, with its unit, e.g. ``"sigma (px)"``.
        fn: the pure distortion function ``fn(image, value, rng)``; ``fn(volume, value, rng)`` for medical.
        description: one line for people (``perceptflow distortions list``).
    """

    id: int
    name: str
    group: str
    domain: str
    levels: tuple[float, ...]
    kadis_levels: tuple[float, ...]
    parameter: str
    fn: DistortionFn
    description: str

    def __post_init__(self) -> None:
        if self.group not in GROUPS:
            raise ValueError(f"{self.name}: group must be one of {GROUPS}, got {self.group!r}")
        if self.domain not in DOMAINS:
            raise ValueError(f"{self.name}: domain must be one of {DOMAINS}, got {self.domain!r}")
        if len(self.levels) != N_LEVELS:
            raise ValueError(f"{self.name}: needs {N_LEVELS} severity levels, got {len(self.levels)}")
        if self.kadis_levels and len(self.kadis_levels) != N_LEVELS:
            raise ValueError(f"{self.name}: needs {N_LEVELS} kadis levels or none, got {len(self.kadis_levels)}")

    def scheme_levels(self, scheme: str) -> tuple[float, ...]:
        """The five values of ``scheme``.

        Raises:
            ValueError: unknown scheme, or ``kadis`` for a type outside the KADID table.
        """
        if scheme not in SCHEMES:
            raise ValueError(f"unknown level scheme {scheme!r}; valid: {list(SCHEMES)}")
        if scheme == "severity":
            return self.levels
        if not self.kadis_levels:
            raise ValueError(
                f"{self.name} ({self.domain}) is not a KADID-10k type and has no 'kadis' levels; use scheme='severity'"
            )
        return self.kadis_levels
