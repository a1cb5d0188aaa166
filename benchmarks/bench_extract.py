"""Extraction throughput against a pure forward pass of the same encoder on the same images, and peak RSS vs N.

N random-texture PNGs of one size and a random-init encoder file are written once per N. Two child processes per N
(each its own peak RSS): ``extract`` runs ``perceptflow.features.extract.extract_dataset`` end to end (decode,
forward, chunked Zarr writes into a partial store, move into place); ``forward`` decodes every image into memory
first, untimed, then times only ``pooled_features`` over the same size-batches. The ratio extract/forward is the
share of the encoder's speed the extraction keeps; the extract peak RSS should not grow with N.

    python benchmarks/bench_extract.py --n 2000 20000 --size 64 --threads 2
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from perceptflow.data.datasets import DatasetTable
from perceptflow.data.images import load_rgb
from perceptflow.features.extract import extract_dataset
from perceptflow.models import build_encoder, load_encoder, pooled_features
from perceptflow.models.encoder_file import save_encoder


def make_images(folder: Path, n: int, size: int) -> Path:
    """N smooth random PNGs (size x size) in 10 reference groups; returns the table CSV path."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (16, size, size, 3), dtype=np.uint8)
    rows = []
    for i in range(n):
        path = folder / f"{i}.png"
        noise = rng.integers(-20, 21, (size, size, 3))
        Image.fromarray(np.clip(base[i % 16] + noise, 0, 255).astype(np.uint8)).save(path, compress_level=1)
        rows.append({"image_id": str(i), "path": str(path), "ref_id": f"r{i % 10}", "ref_path": None,
                     "target": float(i % 7), "dist_type": "noise"})  # fmt: skip
    table = folder / "table.csv"
    pd.DataFrame(rows).to_csv(table, index=False)
    return table


def worker(mode: str, folder: Path, batch: int, threads: int) -> None:
    """Child process: one timed run, then images/s and peak RSS (GiB) as JSON."""
    torch.set_num_threads(threads)
    frame = pd.read_csv(folder / "table.csv", dtype={"image_id": str})
    frame["ref_path"] = None
    table = DatasetTable("bench", frame, "level", False)
    if mode == "extract":
        start = time.perf_counter()
        extract_dataset(table, encoder_path=folder / "encoder.pt", out=folder / "out.zarr", batch_size=batch,
                        device=torch.device("cpu"), threads=threads)  # fmt: skip
        seconds = time.perf_counter() - start
    else:
        encoder, _ = load_encoder(folder / "encoder.pt")
        images = torch.from_numpy(np.stack([load_rgb(p) for p in frame["path"]])).permute(0, 3, 1, 2)
        start = time.perf_counter()
        for first in range(0, len(images), batch):
            pooled_features(encoder, images[first : first + batch].float().div_(255.0))
        seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(json.dumps({"images_per_s": len(frame) / seconds, "peak_gib": peak}))


def child(mode: str, folder: Path, batch: int, threads: int) -> dict:
    command = [sys.executable, __file__, "--worker", mode, "--folder", str(folder)]
    out = subprocess.run([*command, "--batch", str(batch), "--threads", str(threads)], capture_output=True,
                         text=True, check=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--worker", choices=("extract", "forward"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.folder, args.batch, args.threads)
        return
    print(f"{args.arch}, {args.size} px PNGs, batch {args.batch}, {args.threads} threads, CPU")
    print("| N | extract img/s | forward img/s | extract / forward | extract peak RSS GiB | forward peak RSS GiB |")
    print("|---|---|---|---|---|---|")
    for n in args.n:
        with tempfile.TemporaryDirectory(prefix="bench_extract_") as tmp:
            folder = Path(tmp)
            make_images(folder, n, args.size)
            save_encoder(build_encoder(args.arch, seed=0), folder / "encoder.pt", method="random_init")
            forward = child("forward", folder, args.batch, args.threads)
            extract = child("extract", folder, args.batch, args.threads)
            ratio = extract["images_per_s"] / forward["images_per_s"]
            print(f"| {n} | {extract['images_per_s']:.1f} | {forward['images_per_s']:.1f} | {ratio:.2f} | "
                  f"{extract['peak_gib']:.2f} | {forward['peak_gib']:.2f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
