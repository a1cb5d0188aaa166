"""Encode images with a frozen encoder: two-scale pooled, L2-normalised features (CONTRIQUE §1.5)."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from perceptflow.data.datasets import DatasetTable
from perceptflow.data.images import load_rgb
from perceptflow.features.store import FeatureStore, write_feature_store
from perceptflow.models import Encoder, load_encoder, pick_device, pooled_features
from perceptflow.types import FeatureArray, PathLikeStr


def encode_images(
    encoder: Encoder,
    paths: Sequence[PathLikeStr],
    *,
    batch_size: int = 32,
    device: torch.device | None = None,
    desc: str = "extract",
    decode_threads: int = 4,
) -> FeatureArray:
    """Features (N x 2C float32) of image files, in the order given.

    Images are batched by size (CONTRIQUE scores whole images, so sizes may differ); decoding of the next batch
    overlaps the forward pass of the current one, decoded by ``decode_threads`` threads (Pillow releases the GIL).
    CUDA runs under autocast (bfloat16); features come back float32.
    """
    device = device or pick_device()
    encoder = encoder.to(device).eval()
    batches = _batches_by_size(paths, batch_size)
    out = np.zeros((len(paths), 2 * encoder.feature_dim), dtype=np.float32)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
    with (
        ThreadPoolExecutor(max_workers=1) as prefetch,
        ThreadPoolExecutor(max_workers=max(1, decode_threads)) as decode,
        tqdm(total=len(paths), desc=desc, unit="img") as bar,
    ):
        pending = prefetch.submit(_load_batch, paths, batches[0], decode) if batches else None
        for i, rows in enumerate(batches):
            batch = pending.result()
            if i + 1 < len(batches):
                pending = prefetch.submit(_load_batch, paths, batches[i + 1], decode)
            with torch.inference_mode(), autocast:
                features = pooled_features(encoder, batch.to(device, non_blocking=True))
            out[rows] = features.float().cpu().numpy()
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


def extract_dataset(
    table: DatasetTable,
    *,
    encoder_path: PathLikeStr,
    out: PathLikeStr,
    batch_size: int = 32,
    device: torch.device | None = None,
    threads: int | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Encode every image of ``table`` and its references into a Zarr store at ``out``.

    Returns a summary (path, shapes, attributes) for tracking.
    """
    if threads:
        torch.set_num_threads(threads)
    encoder, payload = load_encoder(encoder_path)
    store = encode_table(encoder, table, batch_size=batch_size, device=device)
    attrs = {
        "dataset": table.name,
        "encoder": {k: v for k, v in payload.items() if k != "metadata"},
        "encoder_path": str(Path(encoder_path)),
        "target_name": table.target_name,
        "higher_is_better": table.higher_is_better,
        "feature_layout": "[full-scale GAP, half-scale GAP], each L2-normalised",
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
    return {
        "path": str(out),
        "shape": list(store.features.shape),
        "ref_shape": list(store.ref_features.shape),
        **attrs,
    }


def _batches_by_size(paths: Sequence[PathLikeStr], batch_size: int) -> list[np.ndarray]:
    by_size: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, path in enumerate(paths):
        with Image.open(path) as image:
            by_size[image.size].append(i)
    return [
        np.asarray(rows[start : start + batch_size])
        for rows in by_size.values()
        for start in range(0, len(rows), batch_size)
    ]


def _load_batch(paths: Sequence[PathLikeStr], rows: np.ndarray, decode: ThreadPoolExecutor) -> torch.Tensor:
    images = np.stack(list(decode.map(load_rgb, [paths[i] for i in rows])))
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255.0)
