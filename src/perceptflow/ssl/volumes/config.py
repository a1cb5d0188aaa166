"""Hyper-parameters of 3D self-supervised training (the ``volumes.train`` config section)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

#: The 3D methods by name (the keys of `perceptflow.ssl.volumes.registry.VOLUME_METHODS`, kept here torch-free so
#: the workflow can read them while it parses).
VOLUME_METHOD_NAMES = ("contrastive3d", "gvsl")
#: Default `UNet3D` widths (`perceptflow.models.volumes.unet3d.SMALL_WIDTHS`; a test checks they agree).
DEFAULT_WIDTHS = (8, 16, 32, 64)
#: Keys of ``volumes.train`` that are not hyper-parameters of one run.
WORKFLOW_KEYS = ("methods", "random_init_seed")
#: Keys only GVSL reads; the other methods train without them (so changing them never restarts those).
GVSL_KEYS = ("gvsl_lr", "gvsl_ncc_weight", "gvsl_mse_weight", "gvsl_smooth_weight", "gvsl_window")
#: Keys only the contrastive method reads.
CONTRASTIVE_KEYS = ("lr", "momentum", "temperature", "projection_dim")
#: The keys each 3D method alone reads; a method's run ignores the other methods' own keys.
METHOD_OWN_KEYS = {"contrastive3d": CONTRASTIVE_KEYS, "gvsl": GVSL_KEYS}


def foreign_keys(method: str) -> set[str]:
    """Keys that only other 3D methods read (changing them never reruns or restarts ``method``)."""
    return {key for name, keys in METHOD_OWN_KEYS.items() if name != method for key in keys}


def _fail(key: str, rule: str, value: Any) -> None:
    raise ValueError(f"volumes.train.{key} must be {rule}, got {value!r}")


def _int(key: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        _fail(key, f"an integer >= {minimum}", value)


def _number(key: str, value: Any, low: float, high: float, *, open_low: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        _fail(key, "a finite number", value)
    if value < low or (open_low and value == low) or value >= high:
        _fail(key, f"in {'(' if open_low else '['}{low}, {high})", value)


@dataclass(frozen=True)
class VolumeTrainConfig:
    """One 3D training run.

    Attributes:
        widths: `UNet3D` channels per level, shallow to deep (the exported `VolumeEncoder`'s).
        crop: side of the cubic random crops, a multiple of ``2 ** (len(widths) - 1)``.
        epochs: passes over the training volumes.
        batch_size: volumes per step (>= 2).
        lr: contrastive SGD peak learning rate (after warm-up; cosine decay follows).
        momentum: contrastive SGD momentum.
        weight_decay: L2 penalty on weights (both methods; biases and norms excluded for SGD).
        warmup_fraction: share of iterations with a linear warm-up.
        temperature: contrastive softmax temperature.
        projection_dim: contrastive projector output width.
        seed: seeds weights, sampling, crops and augmentation.
        num_workers: DataLoader worker processes.
        gvsl_lr: GVSL's Adam learning rate (paper: 1e-4).
        gvsl_ncc_weight: weight of GVSL's local-NCC registration term.
        gvsl_mse_weight: weight of GVSL's appearance-restoration MSE.
        gvsl_smooth_weight: weight of GVSL's flow smoothness.
        gvsl_window: side of the local-NCC window (paper: 9).
    """

    widths: tuple[int, ...] = DEFAULT_WIDTHS
    crop: int = 32
    epochs: int = 10
    batch_size: int = 4
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup_fraction: float = 0.1
    temperature: float = 0.1
    projection_dim: int = 64
    seed: int = 0
    num_workers: int = 0
    gvsl_lr: float = 1e-4
    gvsl_ncc_weight: float = 1.0
    gvsl_mse_weight: float = 1.0
    gvsl_smooth_weight: float = 1.0
    gvsl_window: int = 9

    def __post_init__(self) -> None:
        widths = self.widths
        if not isinstance(widths, list | tuple) or len(widths) < 2:
            _fail("widths", "a list of at least two positive integers", widths)
        for width in widths:
            _int("widths", width, 1)
        object.__setattr__(self, "widths", tuple(int(w) for w in widths))
        for key, minimum in (("crop", 8), ("epochs", 1), ("batch_size", 2), ("projection_dim", 1), ("seed", 0),
                             ("num_workers", 0), ("gvsl_window", 1)):  # fmt: skip
            _int(key, getattr(self, key), minimum)
        multiple = 2 ** (len(self.widths) - 1)
        if self.crop % multiple:
            _fail(
                "crop", f"a multiple of {multiple} (2 ** (len(widths) - 1) for widths {list(self.widths)})", self.crop
            )
        if self.gvsl_window % 2 == 0:
            _fail("gvsl_window", "odd", self.gvsl_window)
        for key in ("lr", "temperature", "gvsl_lr"):
            _number(key, getattr(self, key), 0.0, math.inf, open_low=True)
        _number("momentum", self.momentum, 0.0, 1.0, open_low=False)
        _number("warmup_fraction", self.warmup_fraction, 0.0, 1.0, open_low=False)
        for key in ("weight_decay", "gvsl_ncc_weight", "gvsl_mse_weight", "gvsl_smooth_weight"):
            _number(key, getattr(self, key), 0.0, math.inf, open_low=False)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> VolumeTrainConfig:
        """Build from ``volumes.train`` (workflow keys ignored); unknown keys raise ValueError naming them."""
        values = {k: v for k, v in values.items() if k not in WORKFLOW_KEYS}
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown volumes.train key(s) {unknown}; known keys: {sorted(known)}")
        return cls(**values)

    def for_method(self, method: str) -> VolumeTrainConfig:
        """This config with the keys ``method`` does not read reset to their defaults.

        The checkpoint key and resume check then depend only on what the method uses.
        """
        unused = foreign_keys(method)
        defaults = {f.name: f.default for f in fields(self) if f.name in unused}
        return VolumeTrainConfig(**{**{f.name: getattr(self, f.name) for f in fields(self)}, **defaults})


def resolve_volume_method_params(train: Mapping[str, Any], method: str) -> dict[str, Any]:
    """``volumes.train`` as 3D ``method`` trains with it: without `WORKFLOW_KEYS` and the keys only the other
    method reads, so editing those neither reruns nor restarts it.

    Raises:
        ValueError: ``method`` is not a 3D method.
    """
    if method not in VOLUME_METHOD_NAMES:
        raise ValueError(f"volumes.train.methods: {method!r} is not a 3D method; valid: {list(VOLUME_METHOD_NAMES)}")
    skip = {*WORKFLOW_KEYS, *foreign_keys(method)}
    return {key: value for key, value in train.items() if key not in skip}
