"""The ``scale`` section of ``benchmarks/gpu_check.py``: extraction vs pure forward on the device, and the decode bound.

On N seeded PNGs (256 px on a GPU), with a random-init resnet18: images/s of (1) decoding alone through the
extraction's DataLoader (workers, pinned memory), (2) the pure forward pass (``pooled_features``, bfloat16 autocast
on CUDA as extraction uses) on images already on the device, (3) ``extract_dataset`` end to end (decode, forward,
chunked Zarr writes, resumable partial store), (4) CONTRIQUE training (AMP on CUDA, 224 px crops) for two epochs
reading the PNGs and two reading the decoded-image cache (`perceptflow.data.decoded`): images/s and data-wait share
of the last epoch of each. ``--smoke`` runs it tiny on the CPU.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_extract import make_images

from perceptflow.data.datasets import DatasetTable
from perceptflow.features.extract import extract_dataset
from perceptflow.features.loader import batches_by_size, default_workers, device_batches
from perceptflow.models import build_encoder, pooled_features
from perceptflow.models.encoder_file import save_encoder
from perceptflow.ssl import METHODS, TrainConfig
from perceptflow.ssl.training import train_from_manifest


def check_scale(device_name: str, smoke: bool) -> dict[str, Any]:
    """Decode-only, forward-only and extraction images/s (unmeasured on GPU until run there)."""
    n, size, batch = (16, 32, 4) if smoke else (3000, 256, 64)
    device = torch.device(device_name)
    threads = os.cpu_count() or 1
    workers = default_workers(device, threads)
    with tempfile.TemporaryDirectory(prefix="gpu_scale_") as tmp:
        folder = Path(tmp)
        frame = pd.read_csv(make_images(folder, n, size), dtype={"image_id": str}).assign(ref_path=None)
        table = DatasetTable("bench", frame, "level", False)
        paths = list(frame["path"])
        batches = batches_by_size(paths, range(n), batch)
        start = time.perf_counter()
        decoded = [images for _, images in device_batches(paths, batches, device, workers=workers)]
        decode = n / (time.perf_counter() - start)
        encoder = build_encoder("resnet18", seed=0).to(device).eval()
        forward = _forward_rate(encoder, decoded, device)
        save_encoder(encoder.cpu(), folder / "encoder.pt", method="random_init")
        start = time.perf_counter()
        extract_dataset(table, encoder_path=folder / "encoder.pt", out=folder / "out.zarr", batch_size=batch,
                        device=device, threads=threads, decode_workers=workers)  # fmt: skip
        extract = n / (time.perf_counter() - start)
        training = _training_rates(frame, folder, threads, workers, smoke)
    return {
        "device": device_name,
        "images": n,
        "size": size,
        "decode_workers": workers,
        "decode_images_per_s": round(decode, 1),
        "forward_images_per_s": round(forward, 1),
        "extract_images_per_s": round(extract, 1),
        "extract_over_forward": round(extract / forward, 3),
        **training,
    }


def _training_rates(frame: pd.DataFrame, folder: Path, threads: int, workers: int, smoke: bool) -> dict[str, Any]:
    """Last-epoch images/s and data-wait share of CONTRIQUE training from PNG files and from the decoded cache."""
    manifest = folder / "train.csv"
    labels = [i % 26 for i in range(len(frame))]  # any class structure serves a throughput measurement
    pd.DataFrame({"path": frame["path"], "class_label": labels}).to_csv(manifest, index=False)
    crop, batch = (32, 4) if smoke else (224, 64)
    config = TrainConfig(epochs=2, batch_size=batch, crop_size=crop, lr=0.1, num_workers=workers, seed=0)
    record: dict[str, Any] = {"train_crop": crop, "train_batch": batch}
    for source, cache in (("files", None), ("cache", folder / "decoded")):
        run = folder / f"train_{source}"
        history = train_from_manifest(
            METHODS["contrique"], config, manifest, checkpoint_dir=run / "ckpt", encoder_out=run / "encoder.pt",
            threads=threads, decoded_cache=cache,
        )  # fmt: skip
        record[f"train_{source}_images_per_s"] = round(history[-1]["images_per_s"], 1)
        record[f"train_{source}_data_wait"] = round(history[-1]["data_wait_fraction"], 3)
    return record


def _forward_rate(encoder: torch.nn.Module, batches: list[torch.Tensor], device: torch.device) -> float:
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
    with autocast:
        pooled_features(encoder, batches[0])  # warm-up (cuDNN autotune)
        _sync(device)
        start = time.perf_counter()
        for images in batches:
            pooled_features(encoder, images)
        _sync(device)
    return sum(len(b) for b in batches) / (time.perf_counter() - start)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


if __name__ == "__main__":
    print(check_scale("cpu", smoke=True))  # the smoke run; benchmarks/gpu_check.py runs it on a device
