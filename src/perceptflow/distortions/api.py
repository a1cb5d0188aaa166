"""Applying a registered distortion to an 8-bit image: level lookup, seeding and class labels."""

from __future__ import annotations

import hashlib

import numpy as np

from perceptflow.distortions._ops import from_uint8, to_uint8
from perceptflow.distortions.registry import get_distortion
from perceptflow.distortions.spec import N_LEVELS
from perceptflow.types import ImageArray

#: Names that denote the undistorted image in :func:`class_label`.
PRISTINE = "pristine"


def level_value(name: str, level: int, scheme: str = "severity") -> float:
    """Parameter value of type ``name`` at ``level`` (1..5) under ``scheme`` (``severity`` or ``kadis``).

    Raises:
        KeyError: unknown type.
        ValueError: level outside 1..5, unknown scheme, or ``kadis`` for a non-KADID type.
    """
    spec = get_distortion(name)
    _check_level(level)
    return float(spec.scheme_levels(scheme)[level - 1])


def apply_distortion(
    image: ImageArray, name: str, level: int, rng: np.random.Generator, scheme: str = "severity"
) -> ImageArray:
    """Distort a uint8 RGB image (H, W, 3) with type ``name`` at ``level``; returns uint8 of the same shape.

    The result depends only on the inputs and the generator's state: seed ``rng`` with
    :func:`distortion_rng` for outputs that are reproducible across runs and workers.

    Raises:
        KeyError: unknown type.
        ValueError: bad image, level or scheme; a 3D medical type (use ``apply_volume_distortion``).
    """
    if get_distortion(name).domain == "medical":
        raise ValueError(
            f"{name} is a 3D medical artefact for float (D, H, W) volumes: use "
            "perceptflow.distortions.medical.api.apply_volume_distortion"
        )
    _check_image(image)
    value = level_value(name, level, scheme)
    out = get_distortion(name).fn(from_uint8(image), value, rng)
    if out.shape != image.shape:
        raise RuntimeError(f"{name} returned shape {out.shape} for an image of shape {image.shape}")
    return to_uint8(out)


def class_label(name: str | None, level: int) -> int:
    """CONTRIQUE class: ``(id - 1) * 5 + level`` for KADID types (1..125); pristine (None) is 0.

    Raises:
        KeyError: unknown type.
        ValueError: level outside 1..5, or a type outside the KADID table (DPS; medical types have
            their own labels, ``medical_api.medical_class_label``).
    """
    if name is None or name == PRISTINE:
        return 0
    spec = get_distortion(name)
    _check_level(level)
    if not spec.kadis_levels:
        raise ValueError(f"{name} ({spec.domain}) is not a KADID-10k type and has no class label")
    return (spec.id - 1) * N_LEVELS + level


def distortion_rng(seed: int, ref_id: str, name: str, level: int) -> np.random.Generator:
    """Generator for one (seed, reference, type, level), identical in every process and on every platform.

    The key is hashed with SHA-256 (never Python's salted ``hash``) into ``SeedSequence`` entropy.

    Raises:
        ValueError: negative seed.
    """
    if int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    digest = hashlib.sha256(f"{ref_id}\x00{name}\x00{int(level)}".encode()).digest()
    return np.random.default_rng(np.random.SeedSequence([int(seed), int.from_bytes(digest[:16], "little")]))


def _check_level(level: int) -> None:
    if isinstance(level, bool) or not isinstance(level, int | np.integer) or not 1 <= level <= N_LEVELS:
        raise ValueError(f"level must be an integer within 1..{N_LEVELS}, got {level!r}")


def _check_image(image: ImageArray) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", None)
        dtype = getattr(image, "dtype", type(image).__name__)
        raise ValueError(f"image must be a uint8 array of shape (H, W, 3), got dtype {dtype} and shape {shape}")
