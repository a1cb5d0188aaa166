"""Pooled features of whole volumes from a frozen 3D encoder, by sliding windows, into a Zarr feature store.

A volume larger than the window is covered by windows of side ``window`` every ``stride`` voxels (the last window
of each axis is moved back to end at the border, so every voxel is covered); a side shorter than the window is taken
whole. Each window is zero-padded at its far end up to the encoder's ``multiple`` and encoded; the volume's feature
is the mean of its windows' features. Windows go through the network ``batch_size`` at a time (windows of consecutive
volumes share a batch), so peak memory is one volume plus one batch of windows and their activations, whatever the
volume's size.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from perceptflow.data.datasets import DatasetTable
from perceptflow.data.volumes.datasets import read_volume_array
from perceptflow.data.volumes.nifti import NiftiConfig
from perceptflow.features.store import FeatureStore, write_feature_store
from perceptflow.models import pick_device
from perceptflow.models.volumes import load_volume_encoder
from perceptflow.models.volumes.windows import WindowSpec, pad_to_multiple, window_grid, window_starts
from perceptflow.types import FeatureArray, PathLikeStr

__all__ = ["WindowSpec", "encode_volume", "encode_volume_files", "encode_volumes", "window_grid", "window_starts"]

#: ``feature_layout`` attribute of volume feature stores.
VOLUME_FEATURE_LAYOUT = "mean over sliding windows of the encoder's pooled features [f_global mean, f_local mean]"


def _check_encoder(encoder: nn.Module) -> tuple[int, int]:
    multiple, dim = getattr(encoder, "multiple", None), getattr(encoder, "feature_dim", None)
    if not isinstance(multiple, int) or not isinstance(dim, int):
        raise TypeError(f"{type(encoder).__name__} is not a volume encoder: it needs int `multiple` and `feature_dim`")
    return multiple, dim


def _windows(volume: np.ndarray, spec: WindowSpec, multiple: int) -> Iterator[np.ndarray]:
    """The volume's windows, padded, each a contiguous float32 copy (so a pending batch never holds the volume)."""
    sides, corners = window_grid(volume.shape, spec)
    for z, y, x in corners:
        block = pad_to_multiple(volume[z : z + sides[0], y : y + sides[1], x : x + sides[2]], multiple)
        yield np.ascontiguousarray(block, dtype=np.float32)


def _check_volume(volume: np.ndarray, where: str) -> np.ndarray:
    volume = np.asarray(volume)
    if volume.ndim != 3 or volume.size == 0:
        raise ValueError(f"{where}: needs a non-empty 3D (D, H, W) array, got shape {volume.shape}")
    if not np.isfinite(volume).all():
        raise ValueError(f"{where}: the volume has NaN/Inf voxels")
    return volume


def encode_volumes(
    encoder: nn.Module,
    volumes: Iterable[np.ndarray],
    spec: WindowSpec,
    *,
    device: torch.device | None = None,
    names: Sequence[str] | None = None,
) -> FeatureArray:
    """Features (N, ``feature_dim``) float32 of (D, H, W) volumes, each the mean over its windows.

    Windows of consecutive volumes share batches (``spec.batch_size`` windows of one shape per forward pass), so many
    small volumes cost few passes; volumes are consumed one at a time from ``volumes``.

    Raises:
        ValueError: a volume that is not a finite, non-empty 3D array (named by ``names`` when given).
        TypeError: ``encoder`` lacks ``multiple``/``feature_dim``.
    """
    multiple, dim = _check_encoder(encoder)
    device = device or next(encoder.parameters()).device
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
    sums: list[np.ndarray] = []
    counts: list[int] = []
    pending: list[tuple[int, np.ndarray]] = []

    def flush() -> None:
        batch = torch.from_numpy(np.stack([window for _, window in pending])[:, None]).to(device)
        with torch.inference_mode(), autocast:
            features = encoder(batch).double().cpu().numpy()
        for (index, _), feature in zip(pending, features, strict=True):
            sums[index] += feature
            counts[index] += 1
        pending.clear()

    for index, volume in enumerate(volumes):
        volume = _check_volume(volume, names[index] if names is not None else f"volume {index}")
        sums.append(np.zeros(dim, dtype=np.float64))
        counts.append(0)
        for window in _windows(volume, spec, multiple):
            if pending and pending[0][1].shape != window.shape:
                flush()
            pending.append((index, window))
            if len(pending) == spec.batch_size:
                flush()
    if pending:
        flush()
    if not sums:
        return np.zeros((0, dim), dtype=np.float32)
    return (np.stack(sums) / np.asarray(counts, dtype=np.float64)[:, None]).astype(np.float32)


def encode_volume(
    encoder: nn.Module, volume: np.ndarray, spec: WindowSpec, *, device: torch.device | None = None
) -> FeatureArray:
    """Feature vector (``feature_dim``,) float32 of one (D, H, W) volume: the mean over its windows."""
    return encode_volumes(encoder, [volume], spec, device=device, names=["encode_volume"])[0]


def encode_volume_files(
    encoder: nn.Module,
    paths: Sequence[PathLikeStr],
    spec: WindowSpec,
    *,
    preprocess: NiftiConfig | None = None,
    device: torch.device | None = None,
    desc: str = "volumes",
) -> FeatureArray:
    """Features (N, ``feature_dim``) of NIfTI files, in order, read one at a time by :func:`read_volume_array`."""
    volumes = (read_volume_array(path, preprocess) for path in tqdm(paths, desc=desc, unit="vol"))
    return encode_volumes(encoder, volumes, spec, device=device, names=[str(p) for p in paths])


def encode_volume_table(
    encoder: nn.Module,
    table: DatasetTable,
    spec: WindowSpec,
    *,
    preprocess: NiftiConfig | None = None,
    device: torch.device | None = None,
) -> FeatureStore:
    """Features of every volume of ``table`` and of its distinct references, in memory."""
    features = encode_volume_files(
        encoder, list(table.frame["path"]), spec, preprocess=preprocess, device=device, desc=table.name
    )
    refs = table.references()
    ref_features = encode_volume_files(
        encoder, list(refs["ref_path"]), spec, preprocess=preprocess, device=device, desc=f"{table.name} refs"
    )
    return FeatureStore(
        features=features,
        image_ids=table.frame["image_id"].to_numpy(dtype=str),
        ref_features=ref_features,
        ref_ids=refs["ref_id"].to_numpy(dtype=str),
    )


def extract_volume_dataset(
    table: DatasetTable,
    *,
    encoder_path: PathLikeStr,
    out: PathLikeStr,
    spec: WindowSpec,
    preprocess: NiftiConfig | None = None,
    device: torch.device | None = None,
    threads: int | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Encode ``table``'s volumes and references into a Zarr feature store at ``out``; returns a summary."""
    if threads:
        torch.set_num_threads(threads)
    device = device or pick_device()
    encoder, payload = load_volume_encoder(encoder_path, map_location=device)
    store = encode_volume_table(encoder, table, spec, preprocess=preprocess, device=device)
    attrs = {
        "dataset": table.name,
        "encoder": {k: v for k, v in payload.items() if k != "metadata"},
        "encoder_path": str(Path(encoder_path)),
        "target_name": table.target_name,
        "higher_is_better": table.higher_is_better,
        "feature_layout": VOLUME_FEATURE_LAYOUT,
        "windows": asdict(spec),
        **dict(attributes or {}),
    }
    write_feature_store(
        out,
        features=store.features,
        image_ids=list(store.image_ids),
        ref_features=store.ref_features,
        ref_ids=list(store.ref_ids),
        attributes=attrs,
    )
    return {"path": str(out), "shape": list(store.features.shape), "ref_shape": list(store.ref_features.shape), **attrs}
