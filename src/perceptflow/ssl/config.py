"""Training configuration and training samples shared by the self-supervised methods."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from perceptflow.models.encoder import ARCHS


def _fail(key: str, rule: str, value: Any) -> None:
    raise ValueError(f"train.{key} must be {rule}, got {value!r}")


def _check_int(key: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(key, f"an integer >= {minimum}", value)
    if value < minimum:
        _fail(key, f">= {minimum}", value)


def _check_float(key: str, value: Any, low: float, high: float, *, open_low: bool, open_high: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        _fail(key, "a finite number", value)
    if value < low or (open_low and value == low) or value > high or (open_high and value == high):
        _fail(key, f"in {'(' if open_low else '['}{low}, {high}{')' if open_high else ']'}", value)


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one self-supervised training run (the ``train`` config section).

    Attributes:
        arch: encoder architecture, a key of `perceptflow.models.ARCHS`.
        epochs: passes over the training samples.
        batch_size: source images per step (each gives two views); the whole set when it is smaller.
        lr: peak SGD learning rate, reached after warm-up (CONTRIQUE: 0.6 for 256 images, scaled linearly).
        momentum: SGD momentum.
        weight_decay: L2 penalty on weights; biases and normalisation parameters are never decayed.
        warmup_fraction: share of all iterations with a linear warm-up; a per-iteration cosine decay follows.
        temperature: contrastive softmax temperature tau.
        crop_size: side of the square random crop of each view, >= 32 (the ResNet stride).
        projection_dim: output width of the projection head.
        seed: seeds weights, sampling and augmentation.
        num_workers: DataLoader worker processes (0 decodes in the training process).
        color_views: draw a colour space per view (gray, LAB, HSV, local-mean-subtracted, RGB; p = 1/5 each).
    """

    arch: str = "resnet18"
    epochs: int = 10
    batch_size: int = 32
    lr: float = 0.6 * 32 / 256
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup_fraction: float = 0.1
    temperature: float = 0.1
    crop_size: int = 96
    projection_dim: int = 128
    seed: int = 0
    num_workers: int = 0
    color_views: bool = False

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            _fail("arch", f"one of {', '.join(ARCHS)}", self.arch)
        for key, minimum in (
            ("epochs", 1),
            ("batch_size", 2),
            ("crop_size", 32),
            ("projection_dim", 1),
            ("seed", 0),
            ("num_workers", 0),
        ):
            _check_int(key, getattr(self, key), minimum)
        _check_float("lr", self.lr, 0.0, math.inf, open_low=True, open_high=True)
        _check_float("momentum", self.momentum, 0.0, 1.0, open_low=False, open_high=True)
        _check_float("weight_decay", self.weight_decay, 0.0, math.inf, open_low=False, open_high=True)
        _check_float("warmup_fraction", self.warmup_fraction, 0.0, 1.0, open_low=False, open_high=True)
        _check_float("temperature", self.temperature, 0.0, math.inf, open_low=True, open_high=True)
        if not isinstance(self.color_views, bool):
            _fail("color_views", "true or false", self.color_views)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from a config mapping; unknown keys raise ValueError naming them and the known ones."""
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown train key(s) {unknown}; known keys: {sorted(known)}")
        return cls(**values)


@dataclass(frozen=True)
class TrainSample:
    """One training image and its distortion class.

    Attributes:
        path: an image file (read as RGB).
        label: class id: 0 = pristine, (type - 1) * 5 + level for a distortion (type, level), level in 1..5.
    """

    path: Path
    label: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))
        if isinstance(self.label, bool) or not isinstance(self.label, numbers.Integral) or self.label < 0:
            raise ValueError(f"training sample {self.path}: label must be an integer >= 0, got {self.label!r}")
        object.__setattr__(self, "label", int(self.label))
