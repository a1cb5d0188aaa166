"""The metric file, format ``perceptflow.metric/1``: one ``torch.save`` dict of tensors, strings and numbers.

It loads with ``torch.load(weights_only=True)`` only: no pickled module or class is ever involved, and a file that
would run code when unpickled is refused before any of it runs. Layout (docs/metric.md):

- ``format`` (`METRIC_FORMAT`), ``modality`` (``"2d"`` images or ``"3d"`` volumes: `perceptflow.metric.volumes`);
- ``encoder``: ``arch``, ``feature_dim``, ``method``, ``state_dict`` (3D: ``arch`` ``"unet3d"`` and ``widths``);
- ``fr``: ``kind`` (``"lpips"`` or ``"pooled"``), ``layers``, ``weights`` (per layer a (C,) non-negative tensor, or
  absent for the plain channel sum), ``distance`` (pooled only: ``l2``, ``l1`` or ``cosine``);
- ``nr`` (optional): ``preprocessing``, ``coef`` (D,), ``intercept``, ``alpha``, ``dataset``, ``target``,
  ``higher_is_better``, ``n_rows``, ``fit_range``;
- ``input``: ``range`` ([0, 1]), ``channels``, ``min_size``; 3D also ``nifti`` (how NIfTI files are read:
  `perceptflow.data.volumes.nifti.NiftiConfig` fields) and ``window`` (the sliding windows features average over);
- ``provenance``: plain data (method, config hash, data fingerprint, MLflow run ids).

Adapted DPS files (``perceptflow.dps_metric.v1``, written by ``adapt_dps``) are read too, one context at a time
(`dps_payload_to_metric`), so ``adapt_dps`` keeps writing one file for all its contexts.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from perceptflow.models.encoder import ARCHS
from perceptflow.models.encoder_file import ENCODER_FORMAT, atomic_torch_save
from perceptflow.types import PathLikeStr

#: Value of the ``format`` key; another value is refused, never loaded as this one.
METRIC_FORMAT = "perceptflow.metric/1"
#: Format of the files ``adapt_dps`` writes (read with a ``context``).
DPS_METRIC_FORMAT = "perceptflow.dps_metric.v1"
#: Kinds of full-reference distance.
FR_KINDS = ("lpips", "pooled")
#: Feature distances of the ``pooled`` kind (as ``evaluate.fr_distance``).
POOLED_DISTANCES = ("l2", "l1", "cosine")
#: The NR head's preprocessing: the features ``regress`` fits ridge on (`perceptflow.models.pooled_features`).
NR_PREPROCESSING = "contrique_two_scale_gap_l2"
#: Smallest image side accepted (a 32x downsampling trunk still leaves a 1x1 map at half scale).
MIN_SIZE = 32
_TOP_KEYS = ("encoder", "fr", "input", "provenance")
#: What a metric file scores: 2D images or 3D volumes.
MODALITIES = ("2d", "3d")


class MetricFileError(ValueError):
    """A file is not a perceptflow metric of a version this code reads; the message names the file."""


def save_metric_file(payload: Mapping[str, Any], path: PathLikeStr) -> None:
    """Write ``payload`` (built by `perceptflow.metric.export.metric_payload`) atomically.

    Raises:
        ValueError: the payload lacks a section or holds something ``weights_only`` loading would refuse.
    """
    missing = [key for key in ("format", "modality", *_TOP_KEYS) if key not in payload]
    if missing:
        raise ValueError(f"metric payload lacks {missing}")
    _check_loadable(payload, "payload")
    atomic_torch_save(dict(payload), path)


def read_metric_file(path: PathLikeStr, *, context: int | str | None = None) -> dict[str, Any]:
    """The payload of a metric file (CPU tensors), checked for format and sections.

    Args:
        path: a ``perceptflow.metric/1`` file, or an ``adapt_dps`` ``metric.pt`` with ``context`` given.
        context: which adapted DPS context to read (adapted files only).

    Raises:
        FileNotFoundError: no such file.
        MetricFileError: not a metric file (random bytes, a pickle that would run code, an encoder file), another
            version, a missing section, or a DPS file without a valid ``context``; the message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"metric file not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch.load raises many types on foreign, damaged or unsafe files
        raise MetricFileError(
            f"{path} is not a perceptflow metric file: it cannot be read as plain tensors and data "
            f"(weights_only loading refused it; nothing in it was run): {str(error).splitlines()[0]}"
        ) from error
    found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
    if found == DPS_METRIC_FORMAT:
        return dps_payload_to_metric(payload, context, path)
    if context is not None:
        raise MetricFileError(f"{path}: context={context!r} applies to adapt_dps files only; this one is {found!r}")
    if found == METRIC_FORMAT:
        missing = [key for key in _TOP_KEYS if key not in payload]
        if missing:
            raise MetricFileError(f"{path} is a damaged perceptflow metric file: sections {missing} are missing")
        if payload.get("modality", "2d") not in MODALITIES:
            raise MetricFileError(f"{path}: unknown modality {payload.get('modality')!r}; expected one of {MODALITIES}")
        return payload
    raise MetricFileError(f"{path} is not a perceptflow metric file of this version: {_describe(found)}")


def _describe(found: Any) -> str:
    if found == ENCODER_FORMAT:
        return (
            f"it is an encoder file ({ENCODER_FORMAT}); export a metric from it with "
            "`perceptflow.metric.export_fr_metric` or use the workflow's results/metric/<encoder>/fr.pt"
        )
    if isinstance(found, str) and found.startswith("perceptflow.metric/"):
        return f"format {found!r}, this perceptflow reads {METRIC_FORMAT!r} (upgrade or re-export it)"
    return f"format {found!r}, expected {METRIC_FORMAT!r}"


def dps_payload_to_metric(payload: Mapping[str, Any], context: int | str | None, path: Path) -> dict[str, Any]:
    """A ``perceptflow.metric/1`` payload for one context of an ``adapt_dps`` file (LPIPS-style, learned weights).

    Raises:
        MetricFileError: no ``context`` given, or none of that name (both list the file's contexts).
    """
    contexts = payload.get("contexts") or {}
    if context is None or str(context) not in contexts:
        what = "needs context=" if context is None else f"has no context {context!r}"
        raise MetricFileError(f"{path} is an adapt_dps file and {what}; its contexts: {sorted(contexts)}")
    state = contexts[str(context)]["metric"]
    backbone = dict(payload["backbone"])
    prefix = "backbone."
    if any(key.startswith(prefix) for key in state):  # tune / scratch: the context's own backbone
        backbone = {key[len(prefix) :]: value for key, value in state.items() if key.startswith(prefix)}
    layers = list(payload["layers"])
    weights = {layer: state[f"lins.{layer}.1.weight"].reshape(-1).clone() for layer in layers}
    return {
        "format": METRIC_FORMAT,
        "modality": "2d",
        "encoder": {
            "arch": payload["arch"],
            "feature_dim": ARCHS[payload["arch"]],
            "method": payload["encoder"],
            "state_dict": backbone,
        },
        "fr": {"kind": "lpips", "layers": layers, "weights": weights},
        "input": default_input_contract(),
        "provenance": {
            "source": str(path),
            "adapt_dps": {
                "variant": payload["variant"],
                "context": str(context),
                "ranking": contexts[str(context)].get("ranking", ""),
            },
        },
    }


def default_input_contract() -> dict[str, Any]:
    """What the metric accepts: RGB or grayscale float images in [0, 1], sides >= `MIN_SIZE`."""
    return {"range": [0.0, 1.0], "channels": "RGB (grayscale is replicated to 3 channels)", "min_size": MIN_SIZE}


def _check_loadable(value: Any, where: str) -> None:
    """Raise ValueError unless ``value`` is plain data and tensors (what ``weights_only`` loading accepts)."""
    if isinstance(value, str | int | float | bool | type(None) | Tensor):
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_loadable(item, f"{where}[{index}]")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where} has a non-string key {key!r}")
            _check_loadable(item, f"{where}[{key!r}]")
    else:
        raise ValueError(f"{where} is a {type(value).__name__}; a metric file holds tensors and plain data only")
