"""`VolumeMetric`: a 3D metric file as an ``nn.Module`` scoring volume batches, and its loss.

A volume's features are what the 3D extract stage stores: the encoder's pooled ``[f_global mean, f_local mean]``
averaged over sliding windows (`perceptflow.models.volumes.windows`). ``metric(dist, ref)`` is the distance between
the two volumes' features (lower = closer, as ``volumes.evaluate.fr_distance``); ``metric(dist)`` the NR head's
prediction of the rated dataset's target. Inputs are float volumes in [0, 1] (the range `read_volume` normalises
to): (B, 1, D, H, W) or one (D, H, W) volume. Everything is differentiable with respect to the inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.functional import pad

from perceptflow.data.volumes.nifti import NiftiConfig
from perceptflow.metric.file import METRIC_FORMAT, POOLED_DISTANCES
from perceptflow.metric.learned import MetricLoss, pooled_distance, ridge_prediction
from perceptflow.models.volumes import VolumeEncoder
from perceptflow.models.volumes.windows import WindowSpec, window_grid

#: ``arch`` of a 3D metric's encoder.
VOLUME_ARCH = "unet3d"
#: How far outside [0, 1] a volume may reach: the NIfTI reading maps intensities to [0, 1] and clips, but artefacts
#: applied afterwards overshoot (the volume bank's Rician noise reaches ~1.2); a raw-intensity volume is refused.
VOLUME_RANGE_TOLERANCE = 0.5
#: The NR head's preprocessing for 3D: the window mean of the pooled features (the 3D extract store's features).
VOLUME_NR_PREPROCESSING = "unet3d_window_mean_pooled"


def nifti_contract(preprocess: NiftiConfig | None) -> dict[str, Any] | None:
    """Plain-data form of how NIfTI files are read (None: volumes are used as stored, already on the grid)."""
    if preprocess is None:
        return None
    spacing = preprocess.spacing
    return {
        "spacing": list(spacing) if isinstance(spacing, tuple) else spacing,
        "shape": None if preprocess.shape is None else list(preprocess.shape),
        "percentiles": list(preprocess.percentiles),
        "four_d": preprocess.four_d,
        "steps": "RAS+ reorientation, resampling to spacing (mm), centre crop or zero pad to shape, Otsu-foreground "
        "percentiles mapped to [0, 1] and clipped",
    }


def nifti_config(contract: Mapping[str, Any] | None) -> NiftiConfig | None:
    """`NiftiConfig` from `nifti_contract`'s plain data (None stays None)."""
    if contract is None:
        return None
    spacing = contract["spacing"]
    shape = contract["shape"]
    return NiftiConfig(
        spacing=tuple(spacing) if isinstance(spacing, list) else spacing,
        shape=None if shape is None else (int(shape[0]), int(shape[1]), int(shape[2])),
        percentiles=(float(contract["percentiles"][0]), float(contract["percentiles"][1])),
        four_d=str(contract.get("four_d", "refuse")),
    )


def volume_metric_payload(
    encoder: VolumeEncoder,
    *,
    method: str,
    window: WindowSpec,
    preprocess: NiftiConfig | None,
    distance: str = "l2",
    nr: Mapping[str, Any] | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``perceptflow.metric/1`` payload of modality ``3d`` (save it with `save_metric_file`).

    Args:
        encoder: the frozen volume encoder (weights copied to the CPU).
        method: what trained it (``gvsl``, ``contrastive3d``, ``random``).
        window: the sliding windows its features average over (``volumes.extract``).
        preprocess: how NIfTI files are read (``volumes.preprocess``), None to use volumes as stored.
        distance: ``l2``, ``l1`` or ``cosine`` between the two volumes' features.
        nr: an NR head from `perceptflow.export.nr_head.fit_nr_head` on the 3D store's features, or None.
        provenance: plain data.
    """
    if distance not in POOLED_DISTANCES:
        raise ValueError(f"distance must be one of {POOLED_DISTANCES}, got {distance!r}")
    return {
        "format": METRIC_FORMAT,
        "modality": "3d",
        "encoder": {
            "arch": VOLUME_ARCH,
            "widths": list(encoder.widths),
            "feature_dim": encoder.feature_dim,
            "method": method,
            "state_dict": {k: v.detach().cpu() for k, v in encoder.state_dict().items()},
        },
        "fr": {"kind": "pooled", "layers": [], "distance": distance},
        "nr": None if nr is None else {**nr, "preprocessing": VOLUME_NR_PREPROCESSING},
        "input": {
            "range": [0.0, 1.0],
            "channels": "one (a grayscale volume, (D, H, W) in RAS+ voxel order)",
            "min_size": 1,
            "nifti": nifti_contract(preprocess),
            "window": {"window": window.window, "stride": window.stride, "batch_size": window.batch_size},
        },
        "provenance": dict(provenance or {}),
    }


class VolumeMetric(nn.Module):
    """A perceptual metric over a frozen perceptflow volume encoder (weights never train; always in eval mode).

    Attributes:
        window: the sliding windows of the features.
        preprocess: how `perceptflow.metric.volumes.scoring` reads NIfTI files (None: as stored).
        distance_name: ``l2``, ``l1`` or ``cosine``.
        nr_lower_better: direction of the NR prediction (None without an NR head).
    """

    modality = "3d"
    fr_lower_better = True

    def __init__(self, payload: Mapping[str, Any]) -> None:
        """Build the metric from a checked payload of modality ``3d``."""
        super().__init__()
        if payload.get("modality") != "3d":
            raise ValueError(f"VolumeMetric scores 3D volumes; this metric is for {payload.get('modality')!r} inputs")
        enc = payload["encoder"]
        self.encoder = VolumeEncoder(enc["widths"])
        self.encoder.load_state_dict(enc["state_dict"])
        contract = payload["input"]
        self.window = WindowSpec(**contract["window"])
        self.preprocess = nifti_config(contract.get("nifti"))
        self.distance_name: str = payload["fr"].get("distance", "l2")
        if self.distance_name not in POOLED_DISTANCES:
            raise ValueError(f"unknown distance {self.distance_name!r}; expected one of {POOLED_DISTANCES}")
        nr = payload.get("nr")
        self.has_nr = nr is not None
        self.nr_lower_better: bool | None = None if nr is None else not bool(nr["higher_is_better"])
        self.register_buffer("nr_coef", None if nr is None else nr["coef"].double())
        self.nr_intercept = 0.0 if nr is None else float(nr["intercept"])
        self.payload = {k: v for k, v in payload.items() if k != "encoder"} | {
            "encoder": {k: v for k, v in enc.items() if k != "state_dict"}
        }
        self.requires_grad_(False)
        self.eval()

    @property
    def lower_better(self) -> bool:
        """Direction of ``metric(dist)`` when the file has an NR head, else of the FR distance (True)."""
        return bool(self.nr_lower_better) if self.has_nr else True

    @property
    def device(self) -> torch.device:
        """Where the encoder's weights are."""
        return next(self.encoder.parameters()).device

    def train(self, mode: bool = True) -> VolumeMetric:
        """Always eval (GroupNorm has no running statistics, but dropout-free eval is part of the definition)."""
        return super().train(False)

    def forward(self, dist: Tensor, ref: Tensor | None = None) -> Tensor:
        """(B,) scores: the FR distance to ``ref`` when given, else the NR prediction."""
        dist = self.prepare(dist, "dist")
        if ref is None:
            return self.no_reference(dist)
        ref = self.prepare(ref, "ref")
        if ref.shape[1:] != dist.shape[1:] or ref.shape[0] not in (1, dist.shape[0]):
            raise ValueError(f"ref and dist differ in shape: {tuple(ref.shape)} vs {tuple(dist.shape)}")
        return self.distance(self.features(dist), self.features(ref))

    def prepare(self, volumes: Tensor, name: str = "volumes") -> Tensor:
        """Checked (B, 1, D, H, W) float32 volumes on the metric's device.

        Raises:
            ValueError: not a float tensor, not (D, H, W) or (B, 1, D, H, W), non-finite or outside [0, 1] beyond
                `VOLUME_RANGE_TOLERANCE` (the message names ``name`` and the expected range).
        """
        if not isinstance(volumes, Tensor) or not volumes.is_floating_point():
            what = type(volumes).__name__ if not isinstance(volumes, Tensor) else f"dtype {volumes.dtype}"
            raise ValueError(f"{name} must be a float torch.Tensor of volumes in [0, 1], got {what}")
        x = volumes[None, None] if volumes.ndim == 3 else volumes
        if x.ndim != 5 or x.shape[1] != 1:
            raise ValueError(
                f"{name} must be shaped (B, 1, D, H, W) or (D, H, W), got {tuple(volumes.shape)}; "
                "this is a 3D metric (2D images need a 2D metric file)"
            )
        low, high = float(x.detach().min()), float(x.detach().max())
        if not (low >= -VOLUME_RANGE_TOLERANCE and high <= 1 + VOLUME_RANGE_TOLERANCE):  # NaN fails both
            raise ValueError(
                f"{name} has values in [{low:.4g}, {high:.4g}]; expected volumes in [0, 1] as perceptflow's NIfTI "
                f"reading normalises them (artefacts may overshoot by up to {VOLUME_RANGE_TOLERANCE})"
            )
        return x.to(device=self.device, dtype=torch.float32)

    def features(self, volumes: Tensor) -> Tensor:
        """(B, feature_dim) from checked volumes: pooled encoder features averaged over the sliding windows."""
        sides, corners = window_grid(volumes.shape[2:], self.window)
        multiple = self.encoder.multiple
        total = torch.zeros(volumes.shape[0], self.encoder.feature_dim, device=volumes.device)
        step = max(1, self.window.batch_size)
        for start in range(0, len(corners), step):
            blocks = []
            for z, y, x in corners[start : start + step]:
                block = volumes[:, :, z : z + sides[0], y : y + sides[1], x : x + sides[2]]
                blocks.append(pad(block, [p for s in reversed(block.shape[2:]) for p in (0, -s % multiple)]))
            features = self.encoder(torch.cat(blocks))  # windows of the chunk, each holding the whole batch
            total = total + features.reshape(len(blocks), volumes.shape[0], -1).sum(dim=0)
        return total / len(corners)

    def distance(self, dist: Tensor, ref: Tensor) -> Tensor:
        """(B,) distances between feature rows (``ref`` may have one row: broadcast)."""
        return pooled_distance(dist, ref, self.distance_name)

    def no_reference(self, volumes: Tensor) -> Tensor:
        """(B,) NR predictions (float32) from checked volumes.

        Raises:
            ValueError: the file has no NR head.
        """
        coef: Tensor | None = self.nr_coef  # type: ignore[assignment]
        return ridge_prediction(coef, self.nr_intercept, lambda: self.features(volumes), "results/volumes/metric")

    def as_loss(self, reduction: str = "mean") -> MetricLoss:
        """A loss that falls as quality rises (`MetricLoss`), differentiable w.r.t. the inputs."""
        return MetricLoss(self, reduction)

    def info(self) -> dict[str, Any]:
        """What the file holds, without weights: sections, direction, input contract, provenance."""
        nr = self.payload.get("nr")
        nr_info = (
            None if nr is None else {k: v for k, v in nr.items() if k != "coef"} | {"dim": int(nr["coef"].numel())}
        )
        return {
            "format": self.payload["format"],
            "modality": "3d",
            "encoder": self.payload["encoder"],
            "fr": self.payload["fr"],
            "fr_lower_better": True,
            "nr": nr_info,
            "nr_lower_better": self.nr_lower_better,
            "input": self.payload.get("input"),
            "provenance": self.payload.get("provenance"),
        }
