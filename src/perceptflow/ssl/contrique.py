"""CONTRIQUE: distortion-aware contrastive learning (Madhusudana et al., "Image Quality Assessment using
Contrastive Learning", IEEE TIP 31:4149-4161, 2022, https://arxiv.org/abs/2110.13266).

Images of the same synthetic distortion class are positives, whatever their content: every 2x2 patch
projection of both views (full and half scale) of every same-class image in the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.functional import normalize

from perceptflow.models.encoder import Encoder, build_encoder
from perceptflow.ssl.config import TrainConfig, TrainSample
from perceptflow.ssl.distributed import gather_no_gradient, gather_with_gradient
from perceptflow.ssl.method import MethodSpec, SSLMethod
from perceptflow.ssl.trainer import EpochCallback, train_method
from perceptflow.ssl.views import TwoScaleViews, images_to_float

#: Patch vectors per view: ``AdaptiveAvgPool2d((2, 2))``.
PATCHES_PER_VIEW = 4


def _check_loss_inputs(z: Tensor, labels: Tensor, temperature: float) -> None:
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if z.ndim != 2 or z.shape[0] < 2:
        raise ValueError(f"z must be (N, dim) with N >= 2 embeddings, got shape {tuple(z.shape)}")
    if labels.ndim != 2 or labels.shape[0] != z.shape[0]:
        raise ValueError(f"labels must be (N, n_classes) with N = {z.shape[0]}, got shape {tuple(labels.shape)}")


def _check_label_rows(labels: Tensor, n_positive: Tensor) -> None:
    negative, empty, lonely = torch.stack(
        [(labels < 0).any(), (labels.sum(dim=1) <= 0).any(), (n_positive <= 0).any()]
    ).tolist()
    if negative:
        raise ValueError("labels must be non-negative multi-hot class vectors")
    if empty:
        rows = torch.nonzero(labels.sum(dim=1) <= 0).flatten()[:5].tolist()
        raise ValueError(f"every label row needs at least one class; rows {rows} are all zero")
    if lonely:
        rows = torch.nonzero(n_positive <= 0).flatten()[:5].tolist()
        raise ValueError(
            f"rows {rows} have no positive: no other row shares a class with them, so their positive term is "
            "0/0. Every embedding needs another of the same class (in CONTRIQUE: its image's other patches "
            "and view)"
        )


def multiclass_nt_xent(z: Tensor, labels: Tensor, temperature: float) -> Tensor:
    """CONTRIQUE's weighted multi-class NT-Xent (Madhusudana et al., CONTRIQUE, IEEE TIP 2022), computed in float32.

    ``s_ik = cos(z_i, z_k) / temperature``; ``P_ij = y_i . y_j`` for ``j != i`` (0 on the diagonal);
    ``L = mean_i [ logsumexp_{k != i} s_ik - sum_j P_ij s_ij / sum_j P_ij ]``.

    Args:
        z: (N, dim) embeddings; normalised here.
        labels: (N, n_classes) non-negative multi-hot labels, at least one class per row.
        temperature: tau > 0.

    Raises:
        ValueError: bad shapes, temperature <= 0, an all-zero or negative label row, a row without positive.
    """
    _check_loss_inputs(z, labels, temperature)
    with torch.autocast(device_type=z.device.type, enabled=False):
        unit = normalize(z.float(), dim=1)
        y = labels.to(device=z.device, dtype=torch.float32)
        diagonal = torch.eye(len(unit), dtype=torch.bool, device=z.device)
        similarity = unit @ unit.T / temperature
        weights = (y @ y.T).masked_fill(diagonal, 0.0)
        n_positive = weights.sum(dim=1)
        _check_label_rows(y, n_positive)
        log_partition = torch.logsumexp(similarity.masked_fill(diagonal, float("-inf")), dim=1)
        mean_positive = (weights * similarity).sum(dim=1) / n_positive
        return (log_partition - mean_positive).mean()


class ContriqueLoss(nn.Module):
    """`multiclass_nt_xent` as a module; under DDP, optionally over embeddings gathered from all ranks."""

    def __init__(self, temperature: float = 0.1, *, gather_distributed: bool = False) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = temperature
        self.gather_distributed = gather_distributed

    def forward(self, z: Tensor, labels: Tensor) -> Tensor:
        """Loss of (N, dim) embeddings with (N, n_classes) multi-hot labels (see `multiclass_nt_xent`)."""
        if self.gather_distributed:
            z, labels = gather_with_gradient(z), gather_no_gradient(labels)
        return multiclass_nt_xent(z, labels, self.temperature)


class ContriqueModel(nn.Module):
    """Encoder, 2x2 patch pooling and CONTRIQUE's projector.

    Projector: Linear(C, C, bias=False) - BatchNorm1d - ReLU - Linear(C, projection_dim, bias=False) -
    BatchNorm1d. Patch vectors are L2-normalised before it. (The reference also projects a global vector,
    which never enters the loss; it is left out.)
    """

    def __init__(self, encoder: Encoder, projection_dim: int = 128) -> None:
        super().__init__()
        channels = encoder.feature_dim
        self.encoder = encoder
        self.patch_pool = nn.AdaptiveAvgPool2d((2, 2))
        self.projector = nn.Sequential(
            nn.Linear(channels, channels, bias=False),
            nn.BatchNorm1d(channels),
            nn.ReLU(inplace=True),
            nn.Linear(channels, projection_dim, bias=False),
            nn.BatchNorm1d(projection_dim),
        )

    def patch_vectors(self, x: Tensor) -> Tensor:
        """(B, 3, H, W) images -> (B * 4, C) unit patch vectors; an image's 4 patches are consecutive."""
        patches = self.patch_pool(self.encoder(x))
        patches = patches.flatten(2).transpose(1, 2).reshape(-1, patches.shape[1])
        return normalize(patches, dim=1)

    def forward(self, x: Tensor) -> Tensor:
        """(B, 3, H, W) images in [0, 1] -> (B * 4, projection_dim) patch projections."""
        return self.projector(self.patch_vectors(x))


class ContriqueMethod(SSLMethod):
    """CONTRIQUE's training step: both views through the model, labels repeated over patches and views."""

    def __init__(self, model: ContriqueModel, loss: ContriqueLoss) -> None:
        super().__init__()
        self.model = model
        self.loss = loss

    @property
    def encoder(self) -> Encoder:  # type: ignore[override]
        """The trained encoder."""
        return self.model.encoder

    def training_step(self, batch: Sequence[Any]) -> Tensor:
        """Loss of ``(view_a, view_b, labels)``: two (B, 3, S, S) image batches and (B, n_classes) labels."""
        view_a, view_b, labels = batch
        z = torch.cat([self.model(images_to_float(view_a)), self.model(images_to_float(view_b))])
        patch_labels = labels.repeat_interleave(PATCHES_PER_VIEW, dim=0)
        return self.loss(z, torch.cat([patch_labels, patch_labels]))


def build_contrique(config: TrainConfig) -> ContriqueMethod:
    """A randomly initialised CONTRIQUE method for ``config``; under DDP its negatives span all ranks."""
    model = ContriqueModel(build_encoder(config.arch, seed=config.seed), config.projection_dim)
    return ContriqueMethod(model, ContriqueLoss(config.temperature, gather_distributed=True))


def contrique_dataset(samples: Sequence[TrainSample], config: TrainConfig) -> TwoScaleViews:
    """Two-scale views of ``samples``, one-hot over ``max label + 1`` classes."""
    return TwoScaleViews(samples, crop_size=config.crop_size, color_views=config.color_views)


SPEC = MethodSpec(
    name="contrique",
    description="CONTRIQUE: contrastive learning with synthetic distortion classes as positives, 2x2 patches",
    build=build_contrique,
    make_dataset=contrique_dataset,
)


def train_contrique(
    samples: Sequence[TrainSample],
    config: TrainConfig,
    *,
    checkpoint_dir: Path,
    encoder_out: Path,
    device: torch.device | None = None,
    threads: int | None = None,
    on_epoch: EpochCallback | None = None,
) -> list[dict[str, Any]]:
    """Train CONTRIQUE; see `perceptflow.ssl.trainer.train_method` for arguments, resume and history rows."""
    return train_method(
        SPEC,
        samples,
        config,
        checkpoint_dir=checkpoint_dir,
        encoder_out=encoder_out,
        device=device,
        threads=threads,
        on_epoch=on_epoch,
    )
