"""2AFC triplet sets as tensors: drawn under a DPS context, pooled once for a frozen backbone, scored by 2AFC."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from perceptflow.distortions.dps.contexts import DPS_SIZE, make_triplet, resize_for_dps
from perceptflow.evaluate import score_2afc
from perceptflow.metric.distance import PerceptualDistance


@dataclass(frozen=True)
class Triplets:
    """A 2AFC triplet set: (N, 3, H, W) float images in [0, 1] and (N,) judgements (fraction preferring p1)."""

    ref: Tensor
    p0: Tensor
    p1: Tensor
    judge: Tensor

    def __post_init__(self) -> None:
        n = self.ref.shape[0]
        if not (self.ref.shape == self.p0.shape == self.p1.shape) or self.ref.ndim != 4 or self.judge.shape != (n,):
            raise ValueError(
                f"triplets must be (N, 3, H, W) x3 and judge (N,), got {tuple(self.ref.shape)}, "
                f"{tuple(self.p0.shape)}, {tuple(self.p1.shape)}, {tuple(self.judge.shape)}"
            )

    def __len__(self) -> int:
        return int(self.ref.shape[0])

    def subset(self, index: Tensor | slice) -> Triplets:
        """The triplets at ``index``."""
        return Triplets(self.ref[index], self.p0[index], self.p1[index], self.judge[index])


def _to_tensor(batch: Sequence[np.ndarray]) -> Tensor:
    return torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).float().div(255.0)


def make_triplet_set(
    images: Sequence[np.ndarray], ranking: Sequence[str], *, seed: int, per_image: int = 1
) -> Triplets:
    """Seeded DPS triplets under the context ``ranking`` (`distortions.dps.make_triplet`).

    Args:
        images: uint8 (H, W, 3) images; resized to 64x64 (bicubic) unless already that size.
        ranking: a permutation of the six DPS distortions (e.g. from `make_rankings`).
        seed: seeds every draw; the same arguments give the same set.
        per_image: triplets drawn per image.
    """
    if not images or per_image < 1:
        raise ValueError(f"need at least one image and per_image >= 1, got {len(images)} and {per_image}")
    rng = np.random.default_rng(seed)
    refs, p0s, p1s, judges = [], [], [], []
    for image in images:
        patch = image if image.shape[:2] == (DPS_SIZE, DPS_SIZE) else resize_for_dps(image)
        for _ in range(per_image):
            ref, p0, p1, judge = make_triplet(patch, ranking, rng)
            refs.append(ref)
            p0s.append(p0)
            p1s.append(p1)
            judges.append(judge)
    return Triplets(_to_tensor(refs), _to_tensor(p0s), _to_tensor(p1s), torch.tensor(judges, dtype=torch.float32))


def _device(module: nn.Module) -> torch.device:
    return next(module.parameters()).device


Pooled = tuple[dict[str, Tensor], dict[str, Tensor]]


def pooled_triplets(metric: PerceptualDistance, triplets: Triplets, batch_size: int = 256) -> Pooled:
    """`PerceptualDistance.triplet_pooled` of every triplet, computed once with the backbone in eval mode.

    For ``baseline`` and ``lin`` (frozen backbone) these fix the metric's inputs, so training and scoring need no
    further backbone pass. Returned on the metric's device.
    """
    device = _device(metric)
    was_training = metric.training
    metric.eval()
    parts0: list[dict[str, Tensor]] = []
    parts1: list[dict[str, Tensor]] = []
    try:
        with torch.no_grad():
            for start in range(0, len(triplets), batch_size):
                part = triplets.subset(slice(start, start + batch_size))
                pooled0, pooled1 = metric.triplet_pooled(part.ref.to(device), part.p0.to(device), part.p1.to(device))
                parts0.append(pooled0)
                parts1.append(pooled1)
    finally:
        metric.train(was_training)
    return (
        {layer: torch.cat([p[layer] for p in parts0]) for layer in metric.layers},
        {layer: torch.cat([p[layer] for p in parts1]) for layer in metric.layers},
    )


def _select(pooled: Pooled, index: Tensor | slice) -> Pooled:
    return {k: v[index] for k, v in pooled[0].items()}, {k: v[index] for k, v in pooled[1].items()}


def score_pooled(metric: PerceptualDistance, pooled: Pooled, judge: Tensor) -> float:
    """2AFC score of ``metric`` from `pooled_triplets` output (eval mode; only valid for a frozen backbone)."""
    was_training = metric.training
    metric.eval()
    try:
        with torch.no_grad():
            d0, d1 = metric.distance_from_pooled(pooled[0]), metric.distance_from_pooled(pooled[1])
    finally:
        metric.train(was_training)
    return score_2afc(d0.cpu().numpy(), d1.cpu().numpy(), judge.cpu().numpy())


def score_triplets(metric: PerceptualDistance, triplets: Triplets, batch_size: int = 256) -> float:
    """2AFC score (ties 0.5, `evaluate.score_2afc`) of ``metric`` on ``triplets``, in eval mode."""
    device = _device(metric)
    was_training = metric.training
    metric.eval()
    d0s, d1s = [], []
    try:
        with torch.no_grad():
            for start in range(0, len(triplets), batch_size):
                part = triplets.subset(slice(start, start + batch_size))
                d0, d1 = metric.triplet_distances(part.ref.to(device), part.p0.to(device), part.p1.to(device))
                d0s.append(d0.cpu())
                d1s.append(d1.cpu())
    finally:
        metric.train(was_training)
    return score_2afc(torch.cat(d0s).numpy(), torch.cat(d1s).numpy(), triplets.judge.numpy())
