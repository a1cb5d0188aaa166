"""Build the payload of a metric file from an encoder, its full-reference distance and an optional NR head
(`perceptflow.export.nr_head.fit_nr_head`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from perceptflow.metric.distance import DEFAULT_LAYERS
from perceptflow.metric.file import METRIC_FORMAT, default_input_contract
from perceptflow.models import Encoder

#: Default layers of the exported LPIPS-style distance and of evaluate's ``fr_lpips`` rows (benchmarks/
#: choose_fr_layers.py chose them on ../shared/data/live-jpeg-dev and the synthetic bank; docs/metric.md).
DEFAULT_FR_LAYERS: tuple[str, ...] = ("layer1", "layer2", "layer3")


def metric_payload(
    encoder: Encoder,
    *,
    method: str,
    kind: str = "lpips",
    layers: Sequence[str] = DEFAULT_FR_LAYERS,
    weights: Mapping[str, torch.Tensor] | None = None,
    distance: str = "l2",
    nr: Mapping[str, Any] | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``perceptflow.metric/1`` payload (save it with `perceptflow.metric.file.save_metric_file`).

    Args:
        encoder: the frozen encoder (its weights are copied to the CPU).
        method: what trained it (``contrique``, ``random``, ...).
        kind: ``lpips`` or ``pooled``.
        layers: trunk stages of the ``lpips`` distance.
        weights: per-layer non-negative (C,) channel weights (e.g. from ``adapt_dps``); None: unit weights.
        distance: ``l2``, ``l1`` or ``cosine`` (``pooled`` only).
        nr: an NR head from `fit_nr_head`, or None.
        provenance: plain data: config hash, data fingerprint, MLflow run ids.
    """
    fr: dict[str, Any] = {"kind": kind, "layers": list(layers if kind == "lpips" else ())}
    if kind == "pooled":
        fr["distance"] = distance
    if weights is not None:
        fr["weights"] = {layer: weights[layer].detach().cpu().float().reshape(-1) for layer in layers}
    return {
        "format": METRIC_FORMAT,
        "modality": "2d",
        "encoder": {
            "arch": encoder.arch,
            "feature_dim": encoder.feature_dim,
            "method": method,
            "state_dict": {k: v.detach().cpu() for k, v in encoder.state_dict().items()},
        },
        "fr": fr,
        "nr": None if nr is None else dict(nr),
        "input": default_input_contract(),
        "provenance": dict(provenance or {}),
    }


__all__ = ["DEFAULT_FR_LAYERS", "DEFAULT_LAYERS", "metric_payload"]
