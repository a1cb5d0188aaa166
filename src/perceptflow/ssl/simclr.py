"""SimCLR, the instance-contrastive setting of CSR (Chen et al., "A Simple Framework for Contrastive Learning of
Visual Representations", ICML 2020, https://arxiv.org/abs/2002.05709; Li et al., CSR, arXiv 2212.01577;
Li et al., CSR, 2022; Chen et al., SimCLR, ICML 2020).

Two random augmentations of the same image are the only positives; every other view in the (gathered) batch is a
negative. Distortion classes of the training samples are ignored. Features for extraction come from the encoder;
the projector head only serves the loss.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset
from torchvision.transforms import v2

from perceptflow.models.encoder import Encoder, build_encoder
from perceptflow.ssl.config import TrainConfig, TrainSample
from perceptflow.ssl.contrique import multiclass_nt_xent
from perceptflow.ssl.distributed import gather_with_gradient
from perceptflow.ssl.method import MethodSpec, SSLMethod
from perceptflow.ssl.views import DecodedReader, images_to_float

#: Smallest share of the image area a random resized crop keeps (SimCLR: 0.08; small images need more).
CROP_SCALE = (0.2, 1.0)


def nt_xent(z_a: Tensor, z_b: Tensor, temperature: float) -> Tensor:
    """SimCLR's NT-Xent over ``2B`` views: row ``i`` of ``z_a`` and row ``i`` of ``z_b`` are the only positives.

    ``L = mean_i [ logsumexp_{k != i} s_ik - s_i,pos(i) ]`` with ``s = cos / temperature`` over all ``2B`` views:
    `multiclass_nt_xent` with one identity class per image.

    Args:
        z_a: (B, dim) projections of the first views.
        z_b: (B, dim) projections of the second views, same order.
        temperature: tau > 0.

    Raises:
        ValueError: mismatched shapes or temperature <= 0.
    """
    if z_a.shape != z_b.shape or z_a.ndim != 2:
        raise ValueError(f"z_a and z_b must both be (B, dim), got {tuple(z_a.shape)} and {tuple(z_b.shape)}")
    identity = torch.eye(len(z_a), device=z_a.device)
    return multiclass_nt_xent(torch.cat([z_a, z_b]), torch.cat([identity, identity]), temperature)


class NTXentLoss(nn.Module):
    """`nt_xent` as a module; under DDP over the views of all ranks (each rank's images are its own classes)."""

    def __init__(self, temperature: float = 0.1) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"train.temperature must be > 0, got {temperature}")
        self.temperature = temperature

    def forward(self, z_a: Tensor, z_b: Tensor) -> Tensor:
        """Loss of two (B, dim) projection batches (gathered across ranks when a process group is up)."""
        return nt_xent(gather_with_gradient(z_a), gather_with_gradient(z_b), self.temperature)


class SimCLRMethod(SSLMethod):
    """Encoder, global average pool and SimCLR's projector: Linear(C, C) - BatchNorm1d - ReLU - Linear(C, d)."""

    def __init__(self, encoder: Encoder, projection_dim: int, temperature: float) -> None:
        super().__init__()
        channels = encoder.feature_dim
        self.encoder = encoder
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.projector = nn.Sequential(
            nn.Linear(channels, channels, bias=False),
            nn.BatchNorm1d(channels),
            nn.ReLU(inplace=True),
            nn.Linear(channels, projection_dim),
        )
        self.loss = NTXentLoss(temperature)

    def project(self, images: Tensor) -> Tensor:
        """(B, 3, H, W) images (uint8 or float in [0, 1]) -> (B, projection_dim) projections."""
        return self.projector(self.pool(self.encoder(images_to_float(images))).flatten(1))

    def training_step(self, batch: Sequence[Any]) -> Tensor:
        """Loss of ``(view_a, view_b)``: two (B, 3, S, S) batches of augmented views of the same images.

        Both views go through the network in one pass, so BatchNorm sees the whole batch.
        """
        view_a, view_b = batch[0], batch[1]
        z = self.project(torch.cat([view_a, view_b]))
        z_a, z_b = z.chunk(2)
        return self.loss(z_a, z_b)


def simclr_augmentation(crop_size: int) -> v2.Compose:
    """SimCLR's view pipeline on uint8 (3, H, W) tensors: random resized crop, flip, colour jitter (p 0.8),
    grayscale (p 0.2), Gaussian blur (p 0.5, kernel ~10% of the crop, sigma 0.1-2)."""
    kernel = max(3, (crop_size // 10) | 1)
    return v2.Compose(
        [
            v2.RandomResizedCrop(crop_size, scale=CROP_SCALE, antialias=True),
            v2.RandomHorizontalFlip(0.5),
            v2.RandomApply([v2.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
            v2.RandomGrayscale(p=0.2),
            v2.RandomApply([v2.GaussianBlur(kernel, sigma=(0.1, 2.0))], p=0.5),
        ]
    )


class AugmentedPairs(DecodedReader, Dataset[tuple[Tensor, Tensor]]):
    """Two SimCLR views of each image, as (3, crop, crop) uint8 tensors.

    Index with an ``(index, seed)`` pair from `perceptflow.ssl.views.SeededSampler` (a plain index is its own
    seed): the torch RNG that torchvision's transforms draw from is forked and seeded per item, so the views
    depend on the seed alone, never on workers or global state.
    """

    def __init__(self, samples: Sequence[TrainSample], *, crop_size: int) -> None:
        if not samples:
            raise ValueError("no training samples given")
        self.paths = [sample.path for sample in samples]
        self.augment = simclr_augmentation(crop_size)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[Tensor, Tensor]:
        index, seed = key if isinstance(key, tuple) else (key, key)
        image = torch.from_numpy(self.read_image(self.paths[index])).permute(2, 0, 1).contiguous()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return self.augment(image), self.augment(image)


def build_simclr(config: TrainConfig) -> SimCLRMethod:
    """A randomly initialised SimCLR method for ``config`` (``projection_dim``, ``temperature``)."""
    return SimCLRMethod(build_encoder(config.arch, seed=config.seed), config.projection_dim, config.temperature)


def simclr_dataset(samples: Sequence[TrainSample], config: TrainConfig) -> AugmentedPairs:
    """Augmented view pairs of ``samples`` at ``config.crop_size``."""
    return AugmentedPairs(samples, crop_size=config.crop_size)


SPEC = MethodSpec(
    name="simclr",
    description="SimCLR (CSR setting): instance contrast between two augmentations, NT-Xent, projector head",
    build=build_simclr,
    make_dataset=simclr_dataset,
)
