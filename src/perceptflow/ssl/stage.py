"""The train stage: training samples from the distort manifest, then the configured method."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from perceptflow.models import build_encoder, save_encoder
from perceptflow.ssl import METHODS, TrainConfig, TrainSample, train_method
from perceptflow.types import PathLikeStr


def samples_from_manifest(manifest: PathLikeStr) -> list[TrainSample]:
    """One sample per manifest row (pristine included, class 0); paths resolved beside the manifest."""
    manifest = Path(manifest)
    frame = pd.read_csv(manifest)
    missing = [c for c in ("path", "class_label") if c not in frame.columns]
    if missing:
        raise ValueError(f"{manifest}: missing column(s) {missing}")
    return [
        TrainSample(path=manifest.parent / path, label=int(label))
        for path, label in zip(frame["path"], frame["class_label"], strict=True)
    ]


def train_from_manifest(
    method: str,
    manifest: PathLikeStr,
    params: Mapping[str, Any],
    *,
    checkpoint_dir: PathLikeStr,
    encoder_out: PathLikeStr,
    threads: int | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Train ``method`` (a key of :data:`METHODS`) on the manifest's images; returns the epoch history.

    ``params`` is the config's ``train`` section without ``method``/``methods``/``random_init_seed``.
    """
    if method not in METHODS:
        raise ValueError(f"train.method {method!r} is not available; valid: {sorted(METHODS)}")
    config = TrainConfig.from_dict({k: v for k, v in params.items() if k != "method"})
    return train_method(
        METHODS[method],
        samples_from_manifest(manifest),
        config,
        checkpoint_dir=Path(checkpoint_dir),
        encoder_out=Path(encoder_out),
        threads=threads,
        on_epoch=on_epoch,
    )


def save_random_init(arch: str, seed: int, encoder_out: PathLikeStr) -> None:
    """The random-init baseline: an untrained encoder of the same architecture, seeded."""
    save_encoder(build_encoder(arch, seed=seed), encoder_out, method="random_init", metadata={"seed": seed})
