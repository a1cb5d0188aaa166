"""The train stage: training samples from the distort manifest, then the configured method."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from perceptflow.models import build_encoder, save_encoder
from perceptflow.ssl import METHODS, TrainConfig, TrainSample, train_method
from perceptflow.ssl.checkpoint import samples_fingerprint
from perceptflow.ssl.distributed import is_main_process
from perceptflow.ssl.mixup import record_transparency_srcc
from perceptflow.types import PathLikeStr

log = logging.getLogger(__name__)
#: Keys that may change without invalidating a checkpoint (the trainer continues or ignores them).
RESUMABLE_KEYS = ("epochs", "num_workers")


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
    samples = samples_from_manifest(manifest)
    run_dir = Path(checkpoint_dir) / checkpoint_key(method, config, samples)
    history = train_method(
        METHODS[method],
        samples,
        config,
        checkpoint_dir=run_dir,
        encoder_out=Path(encoder_out),
        threads=threads,
        on_epoch=on_epoch,
    )
    if method == "mixup" and is_main_process():  # held-out transparency SRCC: history, MLflow, encoder metadata
        metrics = record_transparency_srcc(run_dir / "last.pt", samples, config, encoder_out=Path(encoder_out))
        history[-1].update(metrics)
        if metrics and on_epoch is not None:
            on_epoch({"epoch": history[-1]["epoch"], **metrics})
    if is_main_process():  # under DDP, rank 0 alone touches the checkpoint folders
        _remove_stale_checkpoints(run_dir)
    return history


def checkpoint_key(method: str, config: TrainConfig, samples: list[TrainSample]) -> str:
    """Folder name for a training's checkpoints: same method, config and data resume; anything else starts fresh.

    A changed config or changed distort output (Snakemake reruns train for both) must not resume a checkpoint that
    belongs to other settings; raising ``epochs`` still continues the same training.
    """
    settings = {k: v for k, v in asdict(config).items() if k not in RESUMABLE_KEYS}
    if settings.get("mixup") is None:  # absent section: the same keys as before it existed
        settings.pop("mixup", None)
    payload = json.dumps({"method": method, "config": settings, "data": samples_fingerprint(samples)}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def _remove_stale_checkpoints(current: Path) -> None:
    """After a completed training, drop checkpoint folders of earlier settings (they can never resume)."""
    for sibling in current.parent.iterdir():
        if sibling.is_dir() and sibling != current:
            log.info("removing stale checkpoints %s", sibling)
            shutil.rmtree(sibling)


def save_random_init(arch: str, seed: int, encoder_out: PathLikeStr) -> None:
    """The random-init baseline: an untrained encoder of the same architecture, seeded."""
    save_encoder(build_encoder(arch, seed=seed), encoder_out, method="random_init", metadata={"seed": seed})
