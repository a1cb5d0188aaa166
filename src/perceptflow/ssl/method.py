"""The small surface every self-supervised method implements, so the trainer and registry stay generic.

A method is an `SSLMethod` module (encoder + heads + loss) whose `SSLMethod.training_step` turns one collated
batch, already on the device, into a scalar loss; a `MethodSpec` says how to build it and its dataset from a
`TrainConfig`. `perceptflow.ssl.METHODS` maps names to specs; the 3D methods (built from a
`perceptflow.ssl.volumes.config.VolumeTrainConfig`) are in `perceptflow.ssl.volumes.registry.VOLUME_METHODS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from perceptflow.models.encoder import Encoder
from perceptflow.models.encoder_file import save_encoder
from perceptflow.ssl.config import TrainConfig, TrainSample


class SSLMethod(nn.Module):
    """Base class of a trainable method: everything that holds parameters, plus the loss.

    Subclasses set ``self.encoder`` (exported after training for feature extraction) and implement
    `training_step`.
    """

    encoder: Encoder

    def training_step(self, batch: Sequence[Any]) -> Tensor:
        """Compute the scalar loss of one batch (tensors already on the device)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement training_step")

    def forward(self, batch: Sequence[Any]) -> Tensor:
        """`training_step`, so that a ``DistributedDataParallel`` wrapper's forward hooks see the step."""
        return self.training_step(batch)


@dataclass(frozen=True)
class MethodSpec:
    """How to train one method.

    Attributes:
        name: registry key, also recorded in the encoder file as ``method``.
        description: one line, shown by ``perceptflow ssl list``.
        build: ``build(config)`` -> the method module, randomly initialised (the trainer seeds first).
        make_dataset: ``make_dataset(samples, config)`` -> a map-style dataset indexed by ``(index, seed)``
            pairs from `perceptflow.ssl.views.SeededSampler`, whose items collate into
            `SSLMethod.training_step` batches.
        export: ``export(method, path, name, metadata)`` writes the trained encoder file; default
            `export_encoder` (`perceptflow.models.save_encoder` of ``method.encoder``, a 2D `Encoder`).
        optimizer: ``optimizer(method, config)`` -> the optimizer; default
            `perceptflow.ssl.optim.build_sgd`.
        after_training: ``after_training(checkpoint, samples, config, encoder_out)`` -> metrics, run once on
            rank 0 after the last epoch (Mix-up's held-out transparency SRCC); they join the last history row.

    ``config`` is a `TrainConfig` for the 2D methods; any frozen dataclass with the optimisation keys the
    trainer reads (``epochs``, ``batch_size``, ``lr``, ``momentum``, ``weight_decay``, ``warmup_fraction``,
    ``seed``, ``num_workers``) works, e.g. `perceptflow.ssl.volumes.config.VolumeTrainConfig`.
    """

    name: str
    description: str
    build: Callable[[TrainConfig], SSLMethod]
    make_dataset: Callable[[Sequence[TrainSample], TrainConfig], Dataset]
    export: Callable[[SSLMethod, Path, str, dict], None] | None = None
    optimizer: Callable[[nn.Module, Any], torch.optim.Optimizer] | None = None
    after_training: Callable[[Path, Sequence[TrainSample], Any, Path], dict[str, float]] | None = None


def export_encoder(method: SSLMethod, path: Path, name: str, metadata: dict) -> None:
    """The default `MethodSpec.export`: save ``method.encoder`` (a 2D `Encoder`) with `save_encoder`."""
    save_encoder(method.encoder, path, method=name, metadata=metadata)
