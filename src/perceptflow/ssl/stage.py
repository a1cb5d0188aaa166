"""Entry points of the train rules, each named after its rule (scripts/<rule>.py calls it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from perceptflow.ssl.config import TrainConfig
from perceptflow.ssl.registry import METHODS
from perceptflow.ssl.torchrun import train_with_torchrun
from perceptflow.ssl.training import train_from_manifest
from perceptflow.types import PathLikeStr


def train_config(method: str, params: Mapping[str, Any]) -> TrainConfig:
    """The run config of 2D ``method`` (a key of `METHODS`) from its resolved train params.

    Raises:
        ValueError: unknown method or a bad setting (the message names ``train.<key>``).
    """
    if method not in METHODS:
        raise ValueError(f"train.method {method!r} is not available; valid: {sorted(METHODS)}")
    return TrainConfig.from_dict({k: v for k, v in params.items() if k != "method"})


def train_encoder(
    *,
    method: str,
    manifest: PathLikeStr,
    params: Mapping[str, Any],
    checkpoint_dir: PathLikeStr,
    encoder_out: PathLikeStr,
    gpus: int,
    threads: int,
    on_epoch: Callable[[dict[str, Any]], None],
) -> list[dict[str, Any]]:
    """The train rule's work: one process, or one DDP process per GPU under torchrun when ``gpus`` > 1.

    Under torchrun, rank 0 writes the history and ``on_epoch`` sees each row after training ends. The bank's
    images are decoded once into ``results/cache/decoded`` (`decoded_cache_dir`, `perceptflow.data.decoded`).
    """
    decoded_cache = decoded_cache_dir(checkpoint_dir)
    if gpus > 1:
        history = train_with_torchrun(
            gpus,
            history_out=f"{checkpoint_dir}/history.json",
            threads=max(1, threads // gpus),
            method=method,
            manifest=manifest,
            params=params,
            checkpoint_dir=checkpoint_dir,
            encoder_out=encoder_out,
            decoded_cache=decoded_cache,
        )
        for row in history:
            on_epoch(row)
        return history
    return train_from_manifest(
        METHODS[method],
        train_config(method, params),
        manifest,
        checkpoint_dir=checkpoint_dir,
        encoder_out=encoder_out,
        threads=threads,
        on_epoch=on_epoch,
        decoded_cache=decoded_cache,
    )


def decoded_cache_dir(checkpoint_dir: PathLikeStr) -> Path:
    """``results/cache/decoded`` for the workflow's ``results/checkpoints/<method>``: beside the checkpoints,
    outside every declared output."""
    return Path(checkpoint_dir).parent.parent / "cache" / "decoded"
