"""`LearnedMetric`: a perceptflow metric file as an ``nn.Module`` scoring image batches, and its loss.

``metric(dist, ref)`` is the full-reference distance (lower = closer to the reference); ``metric(dist)`` the
no-reference head's prediction of the rated dataset's target (its direction: ``nr_lower_better``). Inputs are float
images in [0, 1], (B, 3, H, W) or (B, 1, H, W) (grayscale is replicated), or one (C, H, W) image.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.functional import interpolate, normalize

from perceptflow.metric.distance import channel_normalise
from perceptflow.metric.file import FR_KINDS, MIN_SIZE, POOLED_DISTANCES, MetricFileError, read_metric_file
from perceptflow.models import build_encoder
from perceptflow.types import PathLikeStr

#: Values this far outside [0, 1] are accepted unchanged (generator outputs overshoot slightly).
RANGE_TOLERANCE = 1e-3
#: Reductions of `MetricLoss`.
REDUCTIONS = ("mean", "sum", "none")
Features = dict[str, Tensor]


class LearnedMetric(nn.Module):
    """A perceptual metric over a frozen perceptflow encoder (weights never train; always in eval mode).

    Attributes:
        kind: ``lpips`` (unit-normalised per-layer spatial differences) or ``pooled`` (distance of the two-scale
            pooled features).
        layers: the compared trunk stages (``lpips``).
        fr_lower_better: always True (a distance).
        nr_lower_better: direction of the NR prediction (None without an NR head).
        payload: the file's content without weights (`info`).
    """

    def __init__(self, payload: Mapping[str, Any]) -> None:
        """Build the metric from a checked payload (`perceptflow.metric.file.read_metric_file`)."""
        super().__init__()
        if payload.get("modality", "2d") != "2d":
            raise ValueError(f"this metric is for {payload['modality']!r} inputs; LearnedMetric scores 2D images")
        enc = payload["encoder"]
        self.encoder = build_encoder(enc["arch"])
        self.encoder.load_state_dict(enc["state_dict"])
        fr = payload["fr"]
        if fr["kind"] not in FR_KINDS:
            raise ValueError(f"unknown full-reference kind {fr['kind']!r}; expected one of {FR_KINDS}")
        self.kind: str = fr["kind"]
        names = list(self.encoder.trunk._modules)
        self.layers: tuple[str, ...] = tuple(sorted(fr.get("layers") or (), key=names.index))
        self.distance_name: str = fr.get("distance", "l2")
        if self.kind == "pooled" and self.distance_name not in POOLED_DISTANCES:
            raise ValueError(f"unknown pooled distance {self.distance_name!r}; expected one of {POOLED_DISTANCES}")
        weights = fr.get("weights") or {}
        for layer in self.layers:
            value = weights.get(layer)
            self.register_buffer(f"weight_{layer}", None if value is None else value.float().clamp(min=0))
        nr = payload.get("nr")
        self.has_nr = nr is not None
        self.nr_lower_better: bool | None = None if nr is None else not bool(nr["higher_is_better"])
        self.register_buffer("nr_coef", None if nr is None else nr["coef"].double())
        self.nr_intercept = 0.0 if nr is None else float(nr["intercept"])
        self.min_size = int(payload.get("input", {}).get("min_size", MIN_SIZE))
        self.payload = {k: v for k, v in payload.items() if k != "encoder"} | {
            "encoder": {k: v for k, v in enc.items() if k != "state_dict"}
        }
        self.requires_grad_(False)
        self.eval()

    modality = "2d"
    fr_lower_better = True

    @property
    def lower_better(self) -> bool:
        """Direction of ``metric(dist)`` when the file has an NR head, else of the FR distance (True)."""
        return bool(self.nr_lower_better) if self.has_nr else True

    def train(self, mode: bool = True) -> LearnedMetric:
        """Always eval: the frozen BatchNorm statistics are part of the metric."""
        return super().train(False)

    def forward(self, dist: Tensor, ref: Tensor | None = None) -> Tensor:
        """(B,) scores: the FR distance to ``ref`` when given, else the NR prediction."""
        dist = self.prepare(dist, "dist")
        if ref is None:
            return self.no_reference(dist)
        ref = self.prepare(ref, "ref")
        if ref.shape != dist.shape:
            raise ValueError(f"ref and dist differ in shape: {tuple(ref.shape)} vs {tuple(dist.shape)}")
        return self.distance(self.features(dist), self.features(ref))

    def prepare(self, images: Tensor, name: str = "images") -> Tensor:
        """Checked (B, 3, H, W) float images on the metric's device.

        Raises:
            ValueError: not a tensor, an integer dtype (uint8), values outside [0, 1] beyond `RANGE_TOLERANCE`, a
                channel count other than 1 or 3, or a side below the minimum size.
        """
        if not isinstance(images, Tensor):
            raise ValueError(f"{name} must be a torch.Tensor of float images in [0, 1], got {type(images).__name__}")
        if not images.is_floating_point():
            raise ValueError(f"{name} has dtype {images.dtype}; expected float images in [0, 1] (uint8: divide by 255)")
        x = images.unsqueeze(0) if images.ndim == 3 else images
        if x.ndim != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"{name} must be shaped (B, 3|1, H, W) or (3|1, H, W), got {tuple(images.shape)}")
        if min(x.shape[2:]) < self.min_size:
            raise ValueError(f"{name} is {tuple(x.shape[2:])} pixels; this metric needs sides >= {self.min_size}")
        low, high = float(x.detach().min()), float(x.detach().max())
        if low < -RANGE_TOLERANCE or high > 1 + RANGE_TOLERANCE:
            raise ValueError(
                f"{name} has values in [{low:.4g}, {high:.4g}]; expected float images in [0, 1] "
                f"(tolerance {RANGE_TOLERANCE}; images in [-1, 1]: pass (x + 1) / 2)"
            )
        x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
        return x.to(device=self.device, dtype=torch.float32)

    @property
    def device(self) -> torch.device:
        """Where the encoder's weights are."""
        return next(self.encoder.parameters()).device

    def features(self, images: Tensor) -> Features:
        """What the FR distance compares, from checked images: the chosen stages (``lpips``) or ``pooled``."""
        if self.kind == "lpips":
            return self._stages(images)
        return {"pooled": self._pooled(images)}

    def distance(self, dist: Features, ref: Features) -> Tensor:
        """(B,) FR distances between feature dicts of `features` (``ref`` may have batch 1: broadcast)."""
        if self.kind == "pooled":
            return pooled_distance(dist["pooled"], ref["pooled"], self.distance_name)
        total = torch.zeros(dist[self.layers[0]].shape[0], device=self.device)
        for layer in self.layers:
            diff = ((channel_normalise(dist[layer]) - channel_normalise(ref[layer])) ** 2).mean(dim=(2, 3))
            weight: Tensor | None = getattr(self, f"weight_{layer}")
            total = total + (diff.sum(dim=1) if weight is None else diff @ weight)
        return total

    def no_reference(self, images: Tensor) -> Tensor:
        """(B,) NR predictions (float32) from checked images.

        Raises:
            ValueError: the file has no NR head.
        """
        coef: Tensor | None = self.nr_coef  # type: ignore[assignment]
        return ridge_prediction(coef, self.nr_intercept, lambda: self._pooled(images), "results/metric")

    def _stages(self, images: Tensor) -> Features:
        out: Features = {}
        x = images
        for name, module in self.encoder.trunk.named_children():
            x = module(x)
            if name in self.layers:
                out[name] = x
                if len(out) == len(self.layers):
                    break
        return out

    def _pooled(self, images: Tensor) -> Tensor:
        """`perceptflow.models.pooled_features`, differentiable: two-scale GAP, each half L2-normalised."""
        half = interpolate(images, size=(images.shape[2] // 2, images.shape[3] // 2), mode="bilinear",
                           align_corners=False, antialias=True)  # fmt: skip
        return torch.cat([normalize(self.encoder(x).mean(dim=(2, 3)), dim=1) for x in (images, half)], dim=1)

    def as_loss(self, reduction: str = "mean") -> MetricLoss:
        """A loss that falls as quality rises (`MetricLoss`), differentiable w.r.t. the inputs."""
        return MetricLoss(self, reduction)

    def info(self) -> dict[str, Any]:
        """What the file holds, without weights: sections, direction, input contract, provenance."""
        fr = {k: v for k, v in self.payload["fr"].items() if k != "weights"}
        fr["weights"] = "learned" if self.payload["fr"].get("weights") else "unit (channel sum)"
        nr = self.payload.get("nr")
        nr_info = (
            None if nr is None else {k: v for k, v in nr.items() if k != "coef"} | {"dim": int(nr["coef"].numel())}
        )
        return {
            "format": self.payload["format"],
            "encoder": self.payload["encoder"],
            "fr": fr,
            "fr_lower_better": True,
            "nr": nr_info,
            "nr_lower_better": self.nr_lower_better,
            "input": self.payload.get("input"),
            "provenance": self.payload.get("provenance"),
        }


def ridge_prediction(
    coef: Tensor | None, intercept: Tensor | float, features: Callable[[], Tensor], folder: str
) -> Tensor:
    """(B,) float32 predictions of a metric's NR ridge head on ``features()`` (computed only when there is a head).

    Raises:
        ValueError: no NR head (``coef`` None); the message points at ``<folder>/<encoder>/<dataset>.pt``.
    """
    if coef is None:
        raise ValueError(
            "this metric file has no no-reference head: pass a reference (metric(dist, ref)) or use "
            f"{folder}/<encoder>/<dataset>.pt"
        )
    return (features().double() @ coef + intercept).float()


class MetricLoss(nn.Module):
    """The metric as a loss: the FR distance (with ``ref``) or the NR prediction oriented so lower is better.

    Gradients reach the inputs; the metric's weights are frozen (``requires_grad`` False). ``metric`` is a
    `LearnedMetric` or a `perceptflow.metric.volumes.VolumeMetric`.
    """

    def __init__(self, metric: nn.Module, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.metric = metric
        self.reduction = reduction

    def forward(self, dist: Tensor, ref: Tensor | None = None) -> Tensor:
        """The reduced loss of a batch (``none``: (B,))."""
        scores = self.metric(dist, ref)
        if ref is None and not getattr(self.metric, "nr_lower_better", True):
            scores = -scores
        if self.reduction == "none":
            return scores
        return scores.mean() if self.reduction == "mean" else scores.sum()


def pooled_distance(dist: Tensor, ref: Tensor, name: str) -> Tensor:
    """As ``evaluate.fr_distance``: ``l2`` Euclidean, ``l1`` sum of |f_ref - f|, ``cosine`` 1 - similarity."""
    if name == "l1":
        return (dist - ref).abs().sum(dim=1)
    if name == "cosine":
        return 1.0 - torch.nn.functional.cosine_similarity(dist, ref.expand_as(dist), dim=1, eps=1e-12)
    return torch.linalg.vector_norm(dist - ref, dim=1)


def load_metric(
    path: PathLikeStr, *, device: str | torch.device = "cpu", context: int | str | None = None
) -> LearnedMetric:
    """Load a 2D metric file as a `LearnedMetric` on ``device`` (frozen, eval mode); users call
    `perceptflow.load_metric`, which also reads 3D files (`perceptflow.metric.api.load_metric`).

    Raises:
        FileNotFoundError: no such file.
        perceptflow.metric.file.MetricFileError: not a metric file of this version, or a 3D one (naming it).
    """
    payload = read_metric_file(path, context=context)
    if payload.get("modality", "2d") != "2d":
        raise MetricFileError(f"{path} is a {payload['modality']} metric; load it with perceptflow.load_metric")
    try:
        metric = LearnedMetric(payload)
    except (RuntimeError, KeyError, TypeError) as error:  # weights that do not fit, a missing key
        raise MetricFileError(f"{path} is a damaged perceptflow metric file: {str(error).splitlines()[0]}") from error
    return metric.to(device)
