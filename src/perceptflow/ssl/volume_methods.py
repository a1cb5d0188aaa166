"""The 3D self-supervised methods and the volume train stage (rules ``train_volume_encoder``, random init).

Kept apart from the 2D registry `perceptflow.ssl.METHODS`: these methods train a `VolumeEncoder` on the
``distort_volumes`` manifest under a `VolumeTrainConfig`, through the same generic trainer (checkpoint every
epoch, automatic resume, AMP on CUDA).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from perceptflow.models.volume_encoder import build_volume_encoder, save_volume_encoder
from perceptflow.ssl import volume_contrastive, volume_gvsl
from perceptflow.ssl.distributed import is_main_process
from perceptflow.ssl.method import MethodSpec
from perceptflow.ssl.stage import _remove_stale_checkpoints, checkpoint_key, samples_from_manifest
from perceptflow.ssl.trainer import train_method
from perceptflow.ssl.volume_config import VolumeTrainConfig
from perceptflow.types import PathLikeStr

log = logging.getLogger(__name__)

#: The 3D methods by name (``volumes.train.methods``; ``perceptflow ssl list`` shows them).
VOLUME_METHODS: dict[str, MethodSpec] = {
    "contrastive3d": volume_contrastive.SPEC,
    "gvsl": volume_gvsl.SPEC,
}


def volume_train_config(method: str, params: Mapping[str, Any]) -> VolumeTrainConfig:
    """The run config of ``method`` from ``volumes.train``: validated, keys it does not read at their defaults.

    Raises:
        ValueError: unknown method or key, or a bad value (the message names ``volumes.train.<key>``).
    """
    if method not in VOLUME_METHODS:
        raise ValueError(f"volumes.train.methods: {method!r} is not a 3D method; valid: {sorted(VOLUME_METHODS)}")
    return VolumeTrainConfig.from_dict(params).for_method(method)


def train_volumes_from_manifest(
    method: str,
    manifest: PathLikeStr,
    params: Mapping[str, Any],
    *,
    checkpoint_dir: PathLikeStr,
    encoder_out: PathLikeStr,
    threads: int | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Train ``method`` on every volume of the ``distort_volumes`` manifest; returns the epoch history.

    Checkpoints go to ``checkpoint_dir/<key>/last.pt``, the key a hash of the method, its config and the data,
    so an interrupted run resumes and changed settings start over; stale keys are removed after success.
    """
    config = volume_train_config(method, params)
    samples = samples_from_manifest(manifest)
    run_dir = Path(checkpoint_dir) / checkpoint_key(method, config, samples)  # type: ignore[arg-type]
    log.info("training %s on %d volumes, checkpoints in %s", method, len(samples), run_dir)
    history = train_method(
        VOLUME_METHODS[method],
        samples,
        config,  # type: ignore[arg-type]
        checkpoint_dir=run_dir,
        encoder_out=Path(encoder_out),
        threads=threads,
        on_epoch=on_epoch,
    )
    if is_main_process():
        _remove_stale_checkpoints(run_dir)
    return history


def save_volume_random_init(widths: Sequence[int], seed: int, encoder_out: PathLikeStr) -> None:
    """The random-init 3D baseline: an untrained `VolumeEncoder` of ``widths`` (``volumes.train.widths``), seeded
    by ``seed`` (``volumes.train.random_init_seed``)."""
    widths = [int(w) for w in widths]
    encoder = build_volume_encoder(widths, seed=int(seed))
    save_volume_encoder(encoder, encoder_out, method="random_init", metadata={"seed": int(seed), "widths": widths})
