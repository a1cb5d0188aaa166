"""GVSL training on bank volumes: (A, A', B) crop triplets, Adam, and the U-Net exported as a `VolumeEncoder`.

Pairs (He et al., GVSL, CVPR 2023): A is a volume of the training set, B another one drawn at random (a different volume
or another artefact version of the same anatomy; the public code pairs any two scans). A and B get independent
random crops, and B a random rotation (up to 15 degrees per axis) and isotropic scale (0.85-1.15): a subset of
GVSL's spatial augmentation (rotation 20 degrees, scale 0.75-1.25, translation, shear, elastic) that the affine
head can undo. No flips: a mirrored B cannot be registered by a rotation. A' is A under Models-Genesis appearance
corruption (`perceptflow.ssl.volumes.appearance`). Optimiser: Adam at ``gvsl_lr`` (paper 1e-4) with the shared warm-up
and cosine schedule.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from perceptflow.models.volumes.encoder import VolumeEncoder, build_volume_encoder, save_volume_encoder
from perceptflow.ssl.config import TrainSample
from perceptflow.ssl.method import MethodSpec, SSLMethod
from perceptflow.ssl.volumes.appearance import corrupt_appearance
from perceptflow.ssl.volumes.config import VolumeTrainConfig
from perceptflow.ssl.volumes.gvsl import AffineHead, DeformableHead, GVSLLoss, GVSLMethod, restoration_head
from perceptflow.ssl.volumes.views import load_volume_array, random_crop, random_rotate_scale, to_tensor


class GVSLTriplets(Dataset):
    """Items ``(a, a_corrupted, b)``, each (1, crop, crop, crop), indexed by ``(index, seed)`` pairs."""

    def __init__(self, samples: Sequence[TrainSample], crop: int) -> None:
        self.samples = list(samples)
        self.crop = crop

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, item: tuple[int, int]) -> tuple[Tensor, Tensor, Tensor]:
        index, seed = item
        rng = np.random.default_rng(seed)
        a = random_crop(load_volume_array(self.samples[index].path), self.crop, rng)
        other = int(rng.integers(0, len(self.samples) - 1)) if len(self.samples) > 1 else 0
        other += int(len(self.samples) > 1 and other >= index)
        b = random_crop(load_volume_array(self.samples[other].path), self.crop, rng)
        b = random_rotate_scale(b, rng)
        return to_tensor(a), to_tensor(corrupt_appearance(a, rng)), to_tensor(b)


def build_volume_gvsl(config: VolumeTrainConfig) -> GVSLMethod:
    """GVSL on a seeded `VolumeEncoder`'s U-Net, heads sized as in `perceptflow.ssl.volumes.gvsl.build_gvsl`."""
    unet = build_volume_encoder(config.widths, seed=config.seed).unet
    return GVSLMethod(
        unet=unet,
        affine_head=AffineHead(unet.global_dim, hidden=max(1, unet.global_dim // 2)),
        deformable_head=DeformableHead(unet.local_dim),
        restoration=restoration_head(unet.local_dim),
        loss=GVSLLoss(config.gvsl_ncc_weight, config.gvsl_mse_weight, config.gvsl_smooth_weight, config.gvsl_window),
    )


def gvsl_dataset(samples: Sequence[TrainSample], config: VolumeTrainConfig) -> GVSLTriplets:
    """(A, A', B) triplets of ``config.crop`` voxels a side."""
    return GVSLTriplets(samples, config.crop)


def gvsl_adam(method: nn.Module, config: VolumeTrainConfig) -> torch.optim.Adam:
    """Adam at ``gvsl_lr`` with ``weight_decay`` (GVSL: Adam, lr 1e-4)."""
    return torch.optim.Adam(method.parameters(), lr=config.gvsl_lr, weight_decay=config.weight_decay)


def gvsl_volume_encoder(method: GVSLMethod) -> VolumeEncoder:
    """A `VolumeEncoder` holding a copy of the trained U-Net's weights (on the CPU)."""
    encoder = VolumeEncoder(method.encoder.widths)
    encoder.unet.load_state_dict({k: v.detach().cpu() for k, v in method.encoder.state_dict().items()})
    return encoder.eval()


def export_gvsl(method: SSLMethod, path: Path, name: str, metadata: dict) -> None:
    """Save GVSL's U-Net as a `VolumeEncoder` file."""
    save_volume_encoder(gvsl_volume_encoder(method), path, method=name, metadata=metadata)  # type: ignore[arg-type]


SPEC = MethodSpec(
    name="gvsl",
    description="GVSL: register two volumes from U-Net features (affine + deformable, local NCC) + restoration",
    build=build_volume_gvsl,  # type: ignore[arg-type]
    make_dataset=gvsl_dataset,  # type: ignore[arg-type]
    export=export_gvsl,
    optimizer=gvsl_adam,
)
