"""Manifest-driven training shared by the 2D and 3D methods: samples from the distort manifest, a checkpoint
folder keyed by everything that shapes the result, the generic trainer, then the method's own after-training hook."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from perceptflow.data.decoded import decoded_images
from perceptflow.ssl.config import TrainSample
from perceptflow.ssl.distributed import is_main_process
from perceptflow.ssl.method import MethodSpec
from perceptflow.ssl.resume import samples_fingerprint
from perceptflow.ssl.trainer import train_method
from perceptflow.types import PathLikeStr

log = logging.getLogger(__name__)
#: Keys that may change without invalidating a checkpoint: they never change the result (`ssl.resume`).
RESUMABLE_KEYS = ("num_workers",)
#: Beside each key folder's ``last.pt``: what a ``continue_from_checkpoint`` run matches shorter runs by.
KEY_FILE = "key.json"


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
    spec: MethodSpec,
    config: Any,
    manifest: PathLikeStr,
    *,
    checkpoint_dir: PathLikeStr,
    encoder_out: PathLikeStr,
    threads: int | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    decoded_cache: PathLikeStr | None = None,
) -> list[dict[str, Any]]:
    """Train the method ``spec`` with ``config`` (a `TrainConfig` or `VolumeTrainConfig`) on the manifest's files.

    With ``decoded_cache``, 2D images are decoded once into that folder and read from it (`perceptflow.data.decoded`;
    identical pixels, so identical training).

    Checkpoints go to ``checkpoint_dir/<key>/last.pt`` (`checkpoint_key`): an interrupted run resumes, changed
    settings or data start over, and stale keys are removed after success. The spec's ``after_training`` hook
    (e.g. Mix-up's held-out transparency SRCC) adds its metrics to the last history row and to ``on_epoch``.
    Returns the epoch history.
    """
    samples = samples_from_manifest(manifest)
    run_dir = Path(checkpoint_dir) / checkpoint_key(spec.name, config, samples)
    log.info("training %s on %d samples, checkpoints in %s", spec.name, len(samples), run_dir)
    if is_main_process():
        _prepare_run_dir(run_dir, spec.name, config, samples)
    history = train_method(
        spec,
        samples,
        config,
        checkpoint_dir=run_dir,
        encoder_out=Path(encoder_out),
        threads=threads,
        on_epoch=on_epoch,
        decoded=None if decoded_cache is None else decoded_images([s.path for s in samples], decoded_cache),
    )
    if spec.after_training is not None and is_main_process():
        metrics = spec.after_training(run_dir / "last.pt", samples, config, Path(encoder_out))
        history[-1].update(metrics)
        if metrics and on_epoch is not None:
            on_epoch({"epoch": history[-1]["epoch"], **metrics})
    if is_main_process():  # under DDP, rank 0 alone touches the checkpoint folders
        _remove_stale_checkpoints(run_dir)
    return history


def _key_settings(config: Any) -> dict[str, Any]:
    settings = {k: v for k, v in asdict(config).items() if k not in RESUMABLE_KEYS}
    if settings.get("mixup") is None:  # absent section: the same keys as before it existed
        settings.pop("mixup", None)
    if not settings.get("continue_from_checkpoint"):  # off (the default): the same keys as before it existed
        settings.pop("continue_from_checkpoint", None)
    return settings


def _digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


def checkpoint_key(method: str, config: Any, samples: list[TrainSample]) -> str:
    """Folder name for a training's checkpoints: same method, config and data resume; anything else starts fresh.

    Every key that shapes the result counts, the whole schedule included (``epochs``, ``lr``, ``warmup_fraction``,
    ``batch_size``): a changed epoch count trains fresh, so raising ``epochs`` gives the same model as a fresh run.
    ``continue_from_checkpoint`` opts into continuing a shorter run (`train_from_manifest`).
    """
    return _digest({"method": method, "config": _key_settings(config), "data": samples_fingerprint(samples)})


def schedule_family(method: str, config: Any, samples: list[TrainSample]) -> str:
    """`checkpoint_key` without ``epochs`` and ``continue_from_checkpoint``: runs that differ only in length."""
    settings = {k: v for k, v in _key_settings(config).items() if k not in ("epochs", "continue_from_checkpoint")}
    return _digest({"method": method, "config": settings, "data": samples_fingerprint(samples)})


def _prepare_run_dir(run_dir: Path, method: str, config: Any, samples: list[TrainSample]) -> None:
    """Write the key file; under ``continue_from_checkpoint`` with no checkpoint yet, start from the longest shorter
    run of the same family (its ``last.pt`` copied, the original kept until this run succeeds)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    family = schedule_family(method, config, samples)
    (run_dir / KEY_FILE).write_text(json.dumps({"family": family, "epochs": config.epochs}) + "\n")
    if not getattr(config, "continue_from_checkpoint", False) or (run_dir / "last.pt").exists():
        return
    shorter = []
    for sibling in run_dir.parent.iterdir():
        key_file = sibling / KEY_FILE
        if sibling == run_dir or not key_file.is_file() or not (sibling / "last.pt").is_file():
            continue
        key = json.loads(key_file.read_text())
        if key.get("family") == family and int(key.get("epochs", 0)) < config.epochs:
            shorter.append((int(key["epochs"]), sibling))
    if shorter:
        epochs, source = max(shorter)
        log.info("continuing the %d-epoch run in %s (train.continue_from_checkpoint)", epochs, source)
        shutil.copy2(source / "last.pt", run_dir / "last.pt")


def _remove_stale_checkpoints(current: Path) -> None:
    """After a completed training, drop checkpoint folders of earlier settings (they can never resume)."""
    for sibling in current.parent.iterdir():
        if sibling.is_dir() and sibling != current:
            log.info("removing stale checkpoints %s", sibling)
            shutil.rmtree(sibling)
