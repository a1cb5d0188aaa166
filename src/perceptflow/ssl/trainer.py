"""The training loop shared by every self-supervised method: data loading, AMP, checkpoint and resume.

Auto device: CUDA with mixed precision (``torch.autocast`` float16 + ``GradScaler``) when present, plain
float32 on CPU. On CPU with ``num_workers=0`` a run is bitwise reproducible under its seed, and an interrupted
run resumed from its checkpoint ends with the same weights as an uninterrupted one.

Under ``torchrun`` (a process group initialised, see `perceptflow.ssl.distributed.init_from_env`) the method is
wrapped in ``DistributedDataParallel`` (SyncBatchNorm on CUDA only), each rank trains on its shard of the seeded
sampler with ``train.batch_size / world`` images per step, and rank 0 alone calls ``on_epoch`` and writes the
checkpoint and the encoder file.

``config`` is duck-typed: a `TrainConfig`, or another frozen dataclass with the optimisation keys (see
`MethodSpec`); the method's `MethodSpec.export` and `MethodSpec.optimizer` hooks cover 3D encoders and Adam.
"""

from __future__ import annotations

import logging
import math
import random
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel

from perceptflow.data.decoded import DecodedImages
from perceptflow.models.device import pick_device
from perceptflow.ssl.config import TrainConfig, TrainSample
from perceptflow.ssl.distributed import is_distributed, is_main_process, local_device
from perceptflow.ssl.method import MethodSpec, SSLMethod, export_encoder
from perceptflow.ssl.optim import build_sgd, build_warmup_cosine
from perceptflow.ssl.resume import load_training_state, restore_rng, samples_fingerprint, save_training_state
from perceptflow.ssl.views import DecodedReader, make_loader

log = logging.getLogger(__name__)
EpochCallback = Callable[[dict[str, Any]], None]


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA), numpy's global RNG and Python's ``random``."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def _check_files(samples: Sequence[TrainSample]) -> None:
    missing = [str(sample.path) for sample in samples if not sample.path.is_file()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} training image(s) not found, e.g. {', '.join(missing[:3])}")


def _to_device(batch: Sequence[Any], device: torch.device) -> list[Any]:
    return [item.to(device, non_blocking=True) if isinstance(item, torch.Tensor) else item for item in batch]


def _prepare_for_ddp(method: SSLMethod) -> SSLMethod:
    """SyncBatchNorm under DDP on CUDA only (it refuses CPU tensors); otherwise the method unchanged."""
    if is_distributed() and torch.cuda.is_available():
        return torch.nn.SyncBatchNorm.convert_sync_batchnorm(method)
    return method


class _Run:
    """The mutable state of one training run: method, optimizer, scheduler, scaler and sampler generator."""

    def __init__(
        self,
        spec: MethodSpec,
        samples: Sequence[TrainSample],
        config: TrainConfig,
        device: torch.device,
        decoded: DecodedImages | None = None,
    ) -> None:
        seed_everything(config.seed)
        self.device = device
        self.amp = device.type == "cuda"
        self.generator = torch.Generator().manual_seed(config.seed)
        dataset = spec.make_dataset(samples, config)
        if decoded is not None and isinstance(dataset, DecodedReader):
            dataset.decoded = decoded
        self.loader = make_loader(dataset, config, self.generator, device)
        self.method: SSLMethod = _prepare_for_ddp(spec.build(config)).to(device)
        self.model: torch.nn.Module = self.method
        if is_distributed():
            self.model = DistributedDataParallel(
                self.method, device_ids=[device.index] if device.type == "cuda" else None
            )
        self.optimizer = (spec.optimizer or build_sgd)(self.method, config)
        self.scheduler = build_warmup_cosine(
            self.optimizer,
            total_steps=config.epochs * len(self.loader),
            warmup_fraction=config.warmup_fraction,
        )
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.amp)

    def modules(self) -> dict[str, Any]:
        """What a checkpoint saves and restores, by name."""
        return {
            "model": self.method,
            "optimizer": self.optimizer,
            "scheduler": self.scheduler,
            "scaler": self.scaler,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Load a checkpoint's module states and RNG states."""
        self.method.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.amp and state["scaler"]:
            self.scaler.load_state_dict(state["scaler"])
        restore_rng(state["rng"], self.generator)

    def step(self, batch: Sequence[Any]) -> torch.Tensor:
        """One optimizer step; returns the detached loss."""
        with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.amp):
            loss = self.model(batch)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        with warnings.catch_warnings():  # GradScaler skips optimizer steps with inf gradients: expected
            warnings.filterwarnings("ignore", "Detected call of `lr_scheduler.step", UserWarning)
            self.scheduler.step()
        return loss.detach()

    def epoch(self, number: int) -> dict[str, Any]:
        """Train one epoch; returns its history row."""
        self.method.train()
        total, steps, images, waited = torch.zeros((), device=self.device), 0, 0, 0.0
        start = tick = time.perf_counter()
        for raw in self.loader:
            batch = _to_device(raw, self.device)
            waited += time.perf_counter() - tick
            total += self.step(batch)
            steps, images = steps + 1, images + len(raw[0])
            tick = time.perf_counter()
        loss = total.item() / steps
        seconds = time.perf_counter() - start
        if not math.isfinite(loss):
            raise FloatingPointError(f"training diverged in epoch {number}: mean loss {loss}; lower train.lr")
        return {
            "epoch": number,
            "loss": loss,
            "lr": self.scheduler.get_last_lr()[0],
            "seconds": seconds,
            "images_per_s": images / seconds,
            "data_wait_fraction": waited / seconds,
        }


def train_method(
    spec: MethodSpec,
    samples: Sequence[TrainSample],
    config: TrainConfig,
    *,
    checkpoint_dir: Path,
    encoder_out: Path,
    device: torch.device | str | None = None,
    threads: int | None = None,
    on_epoch: EpochCallback | None = None,
    decoded: DecodedImages | None = None,
) -> list[dict[str, Any]]:
    """Train ``spec``'s method on ``samples``, resuming from ``checkpoint_dir/last.pt`` when it exists.

    Args:
        spec: the method to train.
        samples: training images with their classes.
        config: hyper-parameters; stored in the checkpoint and the encoder file.
        checkpoint_dir: where ``last.pt`` is written after every epoch (keep it outside Snakemake outputs).
        encoder_out: the encoder file written at the end (`MethodSpec.export`, by default
            `perceptflow.models.save_encoder`).
        device: torch device or preference string; None picks CUDA when available, else CPU.
        threads: when given, ``torch.set_num_threads(threads)`` for the run (restored afterwards).
        on_epoch: called with a copy of each new history row, after its checkpoint is written.
        decoded: the samples' decoded pixels (`perceptflow.data.decoded.decoded_images`), read instead of the files.

    Returns:
        The full history, one row per epoch (resumed epochs included): ``epoch`` (1-based), ``loss`` (mean
        over steps), ``lr`` (after the epoch's last step), ``seconds``, ``images_per_s`` (source images, two
        views each), ``data_wait_fraction`` (share of the epoch spent waiting for batches).

    Raises:
        FileNotFoundError: training images are missing (checked before anything is trained).
        ValueError: fewer than 2 samples, or a checkpoint that cannot be resumed with ``config`` and ``samples``
            (other config keys, other data, more epochs); the message names the file.
        FloatingPointError: the loss became NaN or infinite (the last good checkpoint is kept).
    """
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _train(spec, samples, config, Path(checkpoint_dir), Path(encoder_out), device, on_epoch, decoded)
    finally:
        torch.set_num_threads(previous_threads)


def _train(
    spec: MethodSpec,
    samples: Sequence[TrainSample],
    config: TrainConfig,
    checkpoint_dir: Path,
    encoder_out: Path,
    device: torch.device | str | None,
    on_epoch: EpochCallback | None,
    decoded: DecodedImages | None = None,
) -> list[dict[str, Any]]:
    if is_distributed() and device is None:
        device = local_device()
    device = device if isinstance(device, torch.device) else pick_device(device or "auto")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    checkpoint = checkpoint_dir / "last.pt"
    run = _Run(spec, samples, config, device, decoded)
    _check_files(samples)
    data = samples_fingerprint(samples)
    state = load_training_state(checkpoint, method_name=spec.name, config=config, data=data)
    history: list[dict[str, Any]] = []
    continued_from: dict[str, Any] | None = None
    if state is not None:
        run.restore(state)
        history = [dict(row) for row in state["history"]]
        continued_from = state.get("continued_from")
        if state["config"]["epochs"] < config.epochs:  # load_training_state allows it under continue_from_checkpoint
            continued_from = {"epochs": state["config"]["epochs"], "epoch": state["epoch"]}
            log.warning("continuing %s from a %d-epoch run (train.continue_from_checkpoint)", spec.name, state["epoch"])
        log.info("resuming %s from %s after epoch %d of %d", spec.name, checkpoint, state["epoch"], config.epochs)
    for number in range(len(history) + 1, config.epochs + 1):
        row = run.epoch(number)
        history.append(row)
        log.info("%s epoch %d/%d: %s", spec.name, number, config.epochs, row)
        if is_main_process():
            save_training_state(
                checkpoint,
                method_name=spec.name,
                config=config,
                data=data,
                epoch=number,
                history=history,
                modules=run.modules(),
                sampler_generator=run.generator,
                continued_from=continued_from,
            )
        if on_epoch is not None and is_main_process():
            on_epoch(dict(row))
    if is_main_process():
        export = spec.export or export_encoder
        metadata = {"config": asdict(config), "history": history, "continued_from": continued_from}
        export(run.method, encoder_out, spec.name, metadata)
    return history
