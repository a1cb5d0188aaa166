"""CONTRIQUE's distortion-class contrastive objective on 3D crops.

Same loss as 2D (`perceptflow.ssl.contrique.multiclass_nt_xent`, multi-hot weighting): every crop of every volume
of the same artefact class (`perceptflow.distortions.medical_class_label`, 0 = pristine, 1..50) is a positive,
whatever the anatomy. Views: two independent random crops of each volume, each axis flipped with p = 1/2. The
encoder is a `VolumeEncoder`, so the features trained here are the ones feature extraction pools; a CONTRIQUE
projector (Linear - BN - ReLU - Linear - BN) sits on its L2-normalised pooled feature.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.functional import normalize
from torch.utils.data import Dataset

from perceptflow.distortions.medical.api import N_MEDICAL_CLASSES
from perceptflow.models.volumes.encoder import VolumeEncoder, build_volume_encoder, save_volume_encoder
from perceptflow.ssl.config import TrainSample
from perceptflow.ssl.contrique import ContriqueLoss
from perceptflow.ssl.method import MethodSpec, SSLMethod
from perceptflow.ssl.volumes.config import VolumeTrainConfig
from perceptflow.ssl.volumes.views import load_volume_array, random_crop, random_flips, to_tensor

#: Classes of the 3D objective: pristine plus 10 artefacts x 5 levels.
N_CLASSES = N_MEDICAL_CLASSES + 1


class VolumeCropViews(Dataset):
    """Items ``(view_a, view_b, one_hot)``: two random (1, crop, crop, crop) crops of a volume and its class.

    Indexed by ``(index, seed)`` pairs (`perceptflow.ssl.views.SeededSampler`); the seed alone fixes the crops.
    """

    def __init__(self, samples: Sequence[TrainSample], crop: int) -> None:
        self.samples = list(samples)
        self.crop = crop
        bad = [s for s in self.samples if s.label >= N_CLASSES]
        if bad:
            raise ValueError(
                f"{bad[0].path}: class {bad[0].label} is not a 3D artefact class (0..{N_CLASSES - 1}); "
                "train the volume methods on the distort_volumes manifest"
            )

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, item: tuple[int, int]) -> tuple[Tensor, Tensor, Tensor]:
        index, seed = item
        sample = self.samples[index]
        volume = load_volume_array(sample.path)
        rng = np.random.default_rng(seed)
        views = [to_tensor(random_flips(random_crop(volume, self.crop, rng), rng)) for _ in range(2)]
        one_hot = torch.zeros(N_CLASSES)
        one_hot[sample.label] = 1.0
        return views[0], views[1], one_hot


class VolumeContrastiveMethod(SSLMethod):
    """`VolumeEncoder` + projector + `ContriqueLoss`; ``training_step((view_a, view_b, labels))``."""

    encoder: VolumeEncoder  # type: ignore[assignment]

    def __init__(self, encoder: VolumeEncoder, projection_dim: int, loss: ContriqueLoss) -> None:
        super().__init__()
        channels = encoder.feature_dim
        self.encoder = encoder
        self.projector = nn.Sequential(
            nn.Linear(channels, channels, bias=False),
            nn.BatchNorm1d(channels),
            nn.ReLU(inplace=True),
            nn.Linear(channels, projection_dim, bias=False),
            nn.BatchNorm1d(projection_dim),
        )
        self.loss = loss

    def project(self, volumes: Tensor) -> Tensor:
        """(B, 1, S, S, S) crops -> (B, projection_dim) projections of the unit pooled features."""
        return self.projector(normalize(self.encoder(volumes), dim=1))

    def training_step(self, batch: Sequence[Any]) -> Tensor:
        """Loss of two (B, 1, S, S, S) crop batches with (B, n_classes) labels; both views of a volume positive."""
        view_a, view_b, labels = batch
        z = self.project(torch.cat([view_a, view_b]))
        return self.loss(z, torch.cat([labels, labels]))


def build_volume_contrastive(config: VolumeTrainConfig) -> VolumeContrastiveMethod:
    """A randomly initialised method (encoder seeded by ``config.seed``); under DDP negatives span all ranks."""
    encoder = build_volume_encoder(config.widths, seed=config.seed)
    return VolumeContrastiveMethod(
        encoder, config.projection_dim, ContriqueLoss(config.temperature, gather_distributed=True)
    )


def volume_crop_dataset(samples: Sequence[TrainSample], config: VolumeTrainConfig) -> VolumeCropViews:
    """Two random crops of ``config.crop`` voxels a side per volume."""
    return VolumeCropViews(samples, config.crop)


def export_volume_encoder(method: SSLMethod, path: Path, name: str, metadata: dict) -> None:
    """Save the method's `VolumeEncoder` (`save_volume_encoder`)."""
    save_volume_encoder(method.encoder, path, method=name, metadata=metadata)  # type: ignore[arg-type]


SPEC = MethodSpec(
    name="contrastive3d",
    description="CONTRIQUE's artefact-class contrastive loss on random 3D crops (VolumeEncoder, 51 classes)",
    build=build_volume_contrastive,  # type: ignore[arg-type]
    make_dataset=volume_crop_dataset,  # type: ignore[arg-type]
    export=export_volume_encoder,
)
