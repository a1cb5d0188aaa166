"""Resumable training checkpoints: model, optimizer, scheduler, scaler, history and every RNG state.

One file, ``<checkpoint_dir>/last.pt``, rewritten atomically after every epoch and read with
``torch.load(weights_only=True)``. The config that produced it is stored inside; resuming under a different
config is refused, except for the keys in `RESUMABLE_KEYS` (they never change the result). ``epochs`` shapes the
learning-rate schedule, so a checkpoint of a shorter run is resumed only when ``continue_from_checkpoint`` is set
(docs/reliability.md): the run then continues that state under the new, longer schedule and records where it
continued from (``continued_from``).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from perceptflow.models.encoder_file import atomic_torch_save
from perceptflow.ssl.config import TrainConfig, TrainSample

#: Value of the checkpoint's ``format`` key.
CHECKPOINT_FORMAT = "perceptflow.train-checkpoint/1"
#: Config keys that may differ between a checkpoint and the run resuming from it (they never change the result).
RESUMABLE_KEYS = frozenset({"num_workers"})
#: Config keys that may also differ when ``continue_from_checkpoint`` is set (``epochs`` may grow).
CONTINUABLE_KEYS = frozenset({"epochs", "continue_from_checkpoint"})


def capture_rng(sampler_generator: torch.Generator) -> dict[str, Any]:
    """Snapshot of the torch (CPU, CUDA), numpy, Python and sampler RNG states as plain data and tensors."""
    name, keys, position, has_gauss, cached = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {
            "name": str(name),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(position),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": random.getstate(),
        "sampler": sampler_generator.get_state(),
    }


def restore_rng(state: dict[str, Any], sampler_generator: torch.Generator) -> None:
    """Restore a `capture_rng` snapshot (CUDA states only when the same number of devices is present)."""
    torch.set_rng_state(state["torch"].cpu())
    if state["cuda"] and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            numpy_state["name"],
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["pos"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    python_version, python_internal, python_gauss = state["python"]
    random.setstate((python_version, tuple(python_internal), python_gauss))
    sampler_generator.set_state(state["sampler"].cpu())


def samples_fingerprint(samples: Sequence[TrainSample]) -> str:
    """Cheap identity of a training set: SHA-256 over each sample's file name, size and label, in order.

    Regenerated data (another distortion seed, other references) changes it, so a stale checkpoint is not resumed
    on new data; moving the folder does not.
    """
    digest = hashlib.sha256()
    for sample in samples:
        size = sample.path.stat().st_size if sample.path.is_file() else -1
        digest.update(f"{sample.path.name}\0{size}\0{sample.label}\n".encode())
    return f"{len(samples)} samples, sha256 {digest.hexdigest()[:16]}"


def config_differences(
    saved: dict[str, Any], current: dict[str, Any], ignore: frozenset[str] = RESUMABLE_KEYS
) -> list[str]:
    """``"key: saved -> current"`` for every key that differs, ``ignore`` excluded.

    A key absent on one side counts as its `TrainConfig` default there (``continue_from_checkpoint`` is absent from
    checkpoints written before it existed).
    """
    defaults = {"continue_from_checkpoint": False}
    keys = sorted((set(saved) | set(current)) - ignore)
    pairs = {key: (saved.get(key, defaults.get(key)), current.get(key, defaults.get(key))) for key in keys}
    return [f"{key}: {old!r} -> {new!r}" for key, (old, new) in pairs.items() if old != new]


def save_training_state(
    path: Path,
    *,
    method_name: str,
    config: TrainConfig,
    data: str,
    epoch: int,
    history: list[dict],
    modules: dict[str, Any],
    sampler_generator: torch.Generator,
    continued_from: dict[str, Any] | None = None,
) -> None:
    """Write the checkpoint atomically.

    Args:
        path: the checkpoint file (``last.pt``).
        method_name: the SSL method's registry name.
        config: the run's config, stored for the resume check.
        data: `samples_fingerprint` of the training set, stored for the resume check.
        epoch: number of completed epochs.
        history: one row per completed epoch.
        modules: objects with ``state_dict()``, e.g. ``{"model": ..., "optimizer": ..., "scheduler": ...,
            "scaler": ...}``; restored by name.
        sampler_generator: the sampler's generator, saved with the other RNG states.
        continued_from: ``{"epochs": n}`` when this run continued a finished ``n``-epoch run, else None.
    """
    payload = {
        "format": CHECKPOINT_FORMAT,
        "method": method_name,
        "config": asdict(config),
        "data": data,
        "epoch": epoch,
        "history": [dict(row) for row in history],
        "continued_from": continued_from,
        "rng": capture_rng(sampler_generator),
        **{name: module.state_dict() for name, module in modules.items()},
    }
    atomic_torch_save(payload, path)


def load_training_state(path: Path, *, method_name: str, config: TrainConfig, data: str) -> dict[str, Any] | None:
    """Read a checkpoint written by `save_training_state`, or None when ``path`` does not exist.

    Raises:
        ValueError: the file is not a training checkpoint, belongs to another method, was written under a
            different config (the message names the differing keys and the file) or for other training data
            (``data``, a `samples_fingerprint`), or has more epochs than ``config.epochs``. A different
            ``epochs`` counts as a different config unless ``config.continue_from_checkpoint`` is set.
    """
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch.load raises many types on foreign or damaged files
        raise ValueError(f"cannot resume from {path}: not a readable checkpoint ({error}); delete it") from error
    found = state.get("format") if isinstance(state, dict) else type(state).__name__
    if found != CHECKPOINT_FORMAT:
        raise ValueError(f"cannot resume from {path}: format {found!r}, expected {CHECKPOINT_FORMAT!r}; delete it")
    if state["method"] != method_name:
        raise ValueError(f"cannot resume from {path}: it trains {state['method']!r}, not {method_name!r}")
    continuing = bool(getattr(config, "continue_from_checkpoint", False))
    ignore = RESUMABLE_KEYS | CONTINUABLE_KEYS if continuing else RESUMABLE_KEYS
    differences = config_differences(state["config"], asdict(config), ignore)
    if differences:
        hint = (
            "; set train.continue_from_checkpoint: true to continue a shorter run"
            if any(d.startswith("epochs:") for d in differences)
            else ""
        )
        raise ValueError(
            f"cannot resume from {path}: it was written under a different train config "
            f"({'; '.join(differences)}); "
            f"restore those settings or delete the checkpoint to start over{hint}"
        )
    if state["data"] != data:
        raise ValueError(
            f"cannot resume from {path}: it was trained on other data ({state['data']}; now {data}); "
            "delete the checkpoint to start over"
        )
    if state["epoch"] > config.epochs:
        raise ValueError(
            f"cannot resume from {path}: it holds {state['epoch']} epochs, "
            f"more than train.epochs={config.epochs}; "
            "raise train.epochs or delete the checkpoint"
        )
    return state
