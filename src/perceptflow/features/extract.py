"""Encode images with a frozen encoder: two-scale pooled, L2-normalised features (CONTRIQUE §1.5)."""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from perceptflow.data.datasets import DatasetTable
from perceptflow.features.fr import lpips_values, write_fr_values
from perceptflow.features.loader import batches_by_size, default_workers, device_batches
from perceptflow.features.partial import PartialStore, RowArray, content_key
from perceptflow.features.store import DEFAULT_CHUNK_ROWS, FeatureStore
from perceptflow.metric.export import DEFAULT_FR_LAYERS
from perceptflow.models import Encoder, load_encoder, pick_device, pooled_features
from perceptflow.types import FeatureArray, PathLikeStr


def encode_images(
    encoder: Encoder,
    paths: Sequence[PathLikeStr],
    *,
    batch_size: int = 32,
    device: torch.device | None = None,
    desc: str = "extract",
    decode_workers: int = 0,
) -> FeatureArray:
    """Features (N x 2C float32) of image files, in the order given, in memory (small sets; stores stream).

    Images are batched by size (CONTRIQUE scores whole images, so sizes may differ) and decoded by
    ``decode_workers`` DataLoader processes (0: in this process). CUDA runs under autocast (bfloat16); features
    come back float32.
    """
    device = device or pick_device()
    encoder = encoder.to(device).eval()
    out = np.zeros((len(paths), 2 * encoder.feature_dim), dtype=np.float32)
    batches = batches_by_size(paths, range(len(paths)), batch_size)
    with tqdm(total=len(paths), desc=desc, unit="img") as bar:
        for rows, images in device_batches(paths, batches, device, workers=decode_workers):
            out[rows] = _features(encoder, images)
            bar.update(len(rows))
    return out


def encode_table(
    encoder: Encoder, table: DatasetTable, *, batch_size: int = 32, device: torch.device | None = None
) -> FeatureStore:
    """Features of every image of ``table`` and of its distinct references, in memory."""
    features = encode_images(encoder, list(table.frame["path"]), batch_size=batch_size, device=device, desc=table.name)
    refs = table.references()
    ref_features = encode_images(
        encoder, list(refs["ref_path"]), batch_size=batch_size, device=device, desc=f"{table.name} refs"
    )
    return FeatureStore(
        features=features,
        image_ids=table.frame["image_id"].to_numpy(dtype=str),
        ref_features=ref_features,
        ref_ids=refs["ref_id"].to_numpy(dtype=str),
    )


@dataclass(frozen=True)
class RowOutput:
    """An extra per-image array computed during extraction, stored as ``name`` beside ``features``.

    ``compute`` gets each batch as float images (B, 3, H, W) in [0, 1] on the device and their row indices in
    the dataset table, and returns (B, *shape) values (e.g. one full-reference distance per image).
    """

    shape: tuple[int, ...]
    compute: Callable[[torch.Tensor, np.ndarray], np.ndarray]
    dtype: str = "float32"


def extract_dataset(
    table: DatasetTable,
    *,
    encoder_path: PathLikeStr,
    out: PathLikeStr,
    batch_size: int = 32,
    device: torch.device | None = None,
    threads: int | None = None,
    attributes: Mapping[str, Any] | None = None,
    partial_dir: PathLikeStr | None = None,
    decode_workers: int | None = None,
    extras: Mapping[str, RowOutput] | None = None,
    resume_key: Mapping[str, Any] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    fr_layers: Sequence[str] = DEFAULT_FR_LAYERS,
) -> dict[str, Any]:
    """Encode every image of ``table`` and its references into a Zarr store at ``out``, chunk by chunk, then add
    the per-image LPIPS-style distance ``fr/lpips`` over ``fr_layers`` when the table has references
    (`perceptflow.features.fr`).

    Rows are encoded one store chunk at a time and written as each chunk completes, so memory does not grow with
    the dataset. The store is built in ``partial_dir`` (default ``<out>.partial``) under a key of the encoder
    file, the images and the settings; a killed run resumes there after its last complete chunk
    (:mod:`perceptflow.features.partial`), and the finished store is moved to ``out``. ``extras`` name further
    per-image arrays computed from the same decoded batches; ``resume_key`` adds what else must match to resume
    (the rule passes its code hash, so edited extraction code never continues an older partial store). Returns a
    summary (path, shapes, attributes).
    """
    device = device or pick_device()
    if threads:
        torch.set_num_threads(threads)
    workers = default_workers(device, threads or 1) if decode_workers is None else decode_workers
    encoder, payload = load_encoder(encoder_path)
    encoder = encoder.to(device).eval()
    refs = table.references()
    attrs = {
        "dataset": table.name,
        "encoder": {k: v for k, v in payload.items() if k != "metadata"},
        "encoder_path": str(Path(encoder_path)),
        "target_name": table.target_name,
        "higher_is_better": table.higher_is_better,
        "feature_layout": "[full-scale GAP, half-scale GAP], each L2-normalised",
        **dict(attributes or {}),
    }
    paths, ref_paths = list(table.frame["path"]), list(refs["ref_path"])
    dim, extras = 2 * encoder.feature_dim, dict(extras or {})
    arrays = [
        RowArray("features", len(paths), (dim,)),
        RowArray("ref_features", len(ref_paths), (dim,)),
        *(RowArray(name, len(paths), spec.shape, spec.dtype) for name, spec in extras.items()),
    ]
    key = content_key(
        {
            "encoder": _file_digest(encoder_path),
            "images": [_file_stamp(p) for p in paths],
            "refs": [_file_stamp(p) for p in ref_paths],
            "arrays": [asdict(a) for a in arrays],
            "batch_size": batch_size,
            "chunk_rows": chunk_rows,
            "attributes": attrs,
            "resume_key": dict(resume_key or {}),
        }
    )
    ids = {"image_id": list(table.frame["image_id"].astype(str)), "ref_id": list(refs["ref_id"].astype(str))}
    store = PartialStore.open(
        partial_dir or f"{out}.partial", key, arrays=arrays, ids=ids, attributes=attrs, chunk_rows=chunk_rows
    )
    outputs = {"features": _features, **{name: _extra(spec) for name, spec in extras.items()}}
    stream = _Stream(encoder, device, batch_size, workers)
    stream.encode(store, ref_paths, {"ref_features": _features}, desc=f"{table.name} refs")
    stream.encode(store, paths, outputs, desc=table.name)
    store.finish(out)
    lpips = lpips_values(encoder, table, layers=fr_layers, batch_size=batch_size)
    if lpips is not None:
        write_fr_values(out, {"lpips": lpips}, {"lpips": {"layers": list(fr_layers), "weights": "unit"}})
    return {"path": str(out), "shape": [len(paths), dim], "ref_shape": [len(ref_paths), dim], **attrs}


@dataclass(frozen=True)
class _Stream:
    """Encodes rows chunk by chunk into a partial store."""

    encoder: Encoder
    device: torch.device
    batch_size: int
    workers: int

    def encode(
        self, store: PartialStore, paths: Sequence[PathLikeStr], outputs: Mapping[str, _BatchFn], *, desc: str
    ) -> None:
        """Fill the arrays named in ``outputs`` for the chunks of ``paths`` not yet complete."""
        rows_per_chunk, first = store.chunk_rows, store.done(next(iter(outputs)))
        chunks = list(range(first, math.ceil(len(paths) / rows_per_chunk)))
        plan = [
            (chunk, batch)
            for chunk in chunks
            for batch in batches_by_size(
                paths, range(chunk * rows_per_chunk, min(len(paths), (chunk + 1) * rows_per_chunk)), self.batch_size
            )
        ]
        buffers: dict[str, np.ndarray] = {}
        filled = 0
        with tqdm(total=len(paths), initial=min(len(paths), first * rows_per_chunk), desc=desc, unit="img") as bar:
            batches = device_batches(paths, [batch for _, batch in plan], self.device, workers=self.workers)
            for (chunk, _), (rows, images) in zip(plan, batches, strict=True):
                start = chunk * rows_per_chunk
                size = min(len(paths), start + rows_per_chunk) - start
                for name, fn in outputs.items():
                    values = fn(self.encoder, images, rows)
                    if name not in buffers:
                        buffers[name] = np.zeros((size, *values.shape[1:]), dtype=values.dtype)
                    buffers[name][rows - start] = values
                filled += len(rows)
                bar.update(len(rows))
                if filled == size:
                    store.write_chunk(chunk, buffers)
                    buffers, filled = {}, 0


_BatchFn = Callable[[Encoder, torch.Tensor, np.ndarray], np.ndarray]


def _features(encoder: Encoder, images: torch.Tensor, rows: np.ndarray | None = None) -> np.ndarray:
    """Two-scale features of a device batch as float32 numpy (bfloat16 autocast on CUDA)."""
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if images.is_cuda else contextlib.nullcontext()
    with torch.inference_mode(), autocast:
        return pooled_features(encoder, images).float().cpu().numpy()


def _extra(spec: RowOutput) -> _BatchFn:
    def compute(encoder: Encoder, images: torch.Tensor, rows: np.ndarray) -> np.ndarray:
        return np.asarray(spec.compute(images, rows), dtype=spec.dtype)

    return compute


def _file_digest(path: PathLikeStr) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def _file_stamp(path: PathLikeStr) -> tuple[str, int, int]:
    """Path, size and modification time: a rewritten image changes the key without reading every file."""
    stat = os.stat(path)
    return str(path), stat.st_size, stat.st_mtime_ns
