"""Training and extraction throughput on this machine's best device (CUDA with AMP when present, else CPU).

Builds a small bank from the bundled demo photographs (plain loop, no dask, so it runs wherever torch does),
trains CONTRIQUE for a few epochs (AMP on CUDA), and times frozen feature extraction (bf16 autocast on CUDA).
Prints one JSON document.

    python benchmarks/bench_train_extract.py --size 256 --crop 224 --epochs 3 --batch-size 64
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

from perceptflow.data import center_crop_resize, load_demo_sources
from perceptflow.distortions import FOUNDATION_TYPES, apply_distortion, class_label, distortion_rng
from perceptflow.features.extract import encode_images
from perceptflow.models import load_encoder, pick_device
from perceptflow.ssl import TrainConfig, TrainSample, train_contrique


def make_bank(root: Path, size: int) -> list[TrainSample]:
    samples = []
    for ref_id, image in load_demo_sources().items():
        ref = center_crop_resize(image, size=size, resize=size, source=ref_id)
        path = root / f"{ref_id}.png"
        Image.fromarray(ref).save(path, compress_level=1)
        samples.append(TrainSample(path=path, label=0))
        for name in FOUNDATION_TYPES:
            for level in range(1, 6):
                out = root / f"{ref_id}__{name}__{level}.png"
                distorted = apply_distortion(ref, name, level, distortion_rng(0, ref_id, name, level))
                Image.fromarray(distorted).save(out, compress_level=1)
                samples.append(TrainSample(path=out, label=class_label(name, level)))
    return samples


def time_extraction(encoder_path: Path, paths: list[Path], device: torch.device, batch: int) -> dict[str, float]:
    encoder, _ = load_encoder(encoder_path)
    results = {}
    encode_images(encoder, paths[:batch], batch_size=batch, device=device)  # warm-up (cudnn autotune, caches)
    start = time.perf_counter()
    encode_images(encoder, paths, batch_size=batch, device=device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    results["extract_images_per_s"] = len(paths) / (time.perf_counter() - start)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=160)
    parser.add_argument("--crop", type=int, default=80)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--workers", type=int, default=0)
    args = parser.parse_args()
    device = pick_device()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "bank").mkdir()
        start = time.perf_counter()
        samples = make_bank(root / "bank", args.size)
        bank_seconds = time.perf_counter() - start
        config = TrainConfig(
            arch=args.arch,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=0.6 * args.batch_size / 256,
            crop_size=args.crop,
            num_workers=args.workers,
        )
        history = train_contrique(
            samples, config, checkpoint_dir=root / "ckpt", encoder_out=root / "enc.pt", device=device
        )
        report = {
            "device": str(device),
            "gpu": torch.cuda.get_device_name() if device.type == "cuda" else None,
            "torch": torch.__version__,
            "n_images": len(samples),
            "bank_seconds": bank_seconds,
            "history": history,
            **time_extraction(root / "enc.pt", [s.path for s in samples], device, args.batch_size),
        }
    print(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
