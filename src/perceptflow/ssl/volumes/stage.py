"""Entry points of the 3D train rules, each named after its rule (scripts/<rule>.py calls it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from perceptflow.ssl.training import train_from_manifest
from perceptflow.ssl.volumes.registry import VOLUME_METHODS, volume_train_config
from perceptflow.types import PathLikeStr


def train_volume_encoder(
    method: str,
    manifest: PathLikeStr,
    params: Mapping[str, Any],
    *,
    checkpoint_dir: PathLikeStr,
    encoder_out: PathLikeStr,
    threads: int | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Train 3D ``method`` on every volume of the ``distort_volumes`` manifest; returns the epoch history
    (checkpoints and resume as for 2D: `perceptflow.ssl.training.train_from_manifest`)."""
    config = volume_train_config(method, params)
    return train_from_manifest(
        VOLUME_METHODS[method],
        config,
        manifest,
        checkpoint_dir=checkpoint_dir,
        encoder_out=encoder_out,
        threads=threads,
        on_epoch=on_epoch,
    )
