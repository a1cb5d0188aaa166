"""Training configuration and training samples shared by the self-supervised methods."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

#: Target domains of Mix-up SSL: slices of the bundled MRI volumes, or a folder of images.
MIXUP_TARGETS = ("mri_demo", "folder")


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
class MixupConfig:
    """Settings of Mix-up SSL (the ``train.mixup`` section; `perceptflow.ssl.mixup`).

    Attributes:
        target: target domain: ``mri_demo`` (slices of the MRI volumes bundled with nilearn/nibabel) or
            ``folder`` (the images in ``path``).
        path: the target image folder (``folder`` only).
        slices_per_axis: ``mri_demo`` slices per axis and volume.
        alpha_range: (low, high) of the uniform transparency alpha of the target image in a mix.
        reconstruction_weight: weight of the target reconstruction loss (mean squared error).
        transparency_weight: weight of the transparency regression loss (mean squared error).
        held_out: share of target images and of photo references kept out of training for the held-out SRCC.
        held_out_mixes: held-out mixes scored after training.
    """

    target: str = "mri_demo"
    path: str | None = None
    slices_per_axis: int = 12
    alpha_range: tuple[float, float] = (0.1, 0.9)
    reconstruction_weight: float = 1.0
    transparency_weight: float = 1.0
    held_out: float = 0.2
    held_out_mixes: int = 256

    def __post_init__(self) -> None:
        if self.target not in MIXUP_TARGETS:
            _fail("mixup.target", f"one of {', '.join(MIXUP_TARGETS)}", self.target)
        if self.target == "folder" and not (isinstance(self.path, str) and self.path):
            _fail("mixup.path", "a folder of target images when train.mixup.target is folder", self.path)
        if self.path is not None and not isinstance(self.path, str):
            _fail("mixup.path", "a string", self.path)
        _check_int("mixup.slices_per_axis", self.slices_per_axis, 1)
        _check_int("mixup.held_out_mixes", self.held_out_mixes, 2)
        bounds = self.alpha_range
        if not isinstance(bounds, list | tuple) or len(bounds) != 2:
            _fail("mixup.alpha_range", "a pair [low, high]", bounds)
        for bound in bounds:
            _check_float("mixup.alpha_range", bound, 0.0, 1.0, open_low=False, open_high=False)
        if not bounds[0] < bounds[1]:
            _fail("mixup.alpha_range", "a pair with low < high", bounds)
        object.__setattr__(self, "alpha_range", (float(bounds[0]), float(bounds[1])))
        for key in ("reconstruction_weight", "transparency_weight"):
            _check_float(f"mixup.{key}", getattr(self, key), 0.0, math.inf, open_low=False, open_high=True)
        if self.reconstruction_weight + self.transparency_weight == 0:
            _fail("mixup.transparency_weight", "> 0 when train.mixup.reconstruction_weight is 0", 0)
        _check_float("mixup.held_out", self.held_out, 0.0, 0.9, open_low=False, open_high=False)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> MixupConfig:
        """Build from the ``train.mixup`` mapping; unknown keys raise ValueError naming them."""
        if not isinstance(values, dict):
            _fail("mixup", "a mapping", values)
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown train.mixup key(s) {unknown}; known keys: {sorted(known)}")
        return cls(**values)


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
        mixup: Mix-up SSL settings (a `MixupConfig`, or its mapping); None = its defaults where needed.
        continue_from_checkpoint: continue the checkpoint of a shorter run of otherwise equal settings under this
            longer schedule (opt-in; by default a changed ``epochs`` trains fresh, docs/reliability.md).
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
    mixup: MixupConfig | None = None
    continue_from_checkpoint: bool = False

    def __post_init__(self) -> None:
        from perceptflow.models.encoder import ARCHS  # here, not at the top: reading configs needs no torch

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
        for key in ("color_views", "continue_from_checkpoint"):
            if not isinstance(getattr(self, key), bool):
                _fail(key, "true or false", getattr(self, key))
        if self.mixup is not None and not isinstance(self.mixup, MixupConfig):
            object.__setattr__(self, "mixup", MixupConfig.from_dict(self.mixup))

    @property
    def mixup_settings(self) -> MixupConfig:
        """`mixup`, or the `MixupConfig` defaults when the section is absent."""
        return self.mixup if self.mixup is not None else MixupConfig()

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
