"""Distortion-bank throughput: the distort stage's dask path against a plain one-image-at-a-time loop.

Every reference is a 512x384 (width x height) crop of a bundled demo photograph; each gets the full bank (25 KADID
types x 5 levels, ``severity`` scheme). The loop calls ``apply_distortion`` image by image and writes PNGs exactly
as the bank does; the dask path is ``bank.write_bank`` on each requested scheduler with ``--threads`` workers.
All runs happen in this one process, one after the other, and every output file is compared byte for byte
with the loop's. Prints a table (images/s, speed-up over the loop) and exits non-zero on any byte difference.

    python benchmarks/bench_distort.py                                  # 4 references, threads vs loop
    python benchmarks/bench_distort.py --refs 8 --threads 4 --schedulers threads processes
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from perceptflow.data.demo import DEMO_SOURCES, demo_source_path
from perceptflow.data.images import load_rgb
from perceptflow.distortions import apply_distortion, distortion_rng, distortions_in
from perceptflow.distortions.bank import BankSpec, write_bank
from perceptflow.types import ImageArray

#: Colour photographs large enough for 512x384 without much upscaling, in order of use.
SOURCES = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle", "china", "flower", "grace_hopper")
WIDTH, HEIGHT = 512, 384


def crop_512x384(image: ImageArray) -> ImageArray:
    """Scale so the image covers 512x384 (bicubic), then centre-crop 512x384."""
    height, width = image.shape[:2]
    scale = max(WIDTH / width, HEIGHT / height)
    size = (max(WIDTH, round(width * scale)), max(HEIGHT, round(height * scale)))
    resized = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BICUBIC))
    top, left = (size[1] - HEIGHT) // 2, (size[0] - WIDTH) // 2
    return np.ascontiguousarray(resized[top : top + HEIGHT, left : left + WIDTH])


def references(count: int) -> dict[str, ImageArray]:
    names = [*SOURCES, *(n for n in DEMO_SOURCES if n not in SOURCES)][:count]
    return {name: crop_512x384(load_rgb(demo_source_path(name))) for name in names}


def run_loop(crops: dict[str, ImageArray], spec: BankSpec, out_dir: Path) -> int:
    """The straightforward baseline: one image at a time, same functions, same PNG writing."""
    (out_dir / "refs").mkdir(parents=True)
    (out_dir / "dist").mkdir(parents=True)
    count = 0
    for ref_id, image in crops.items():
        Image.fromarray(image).save(out_dir / "refs" / f"{ref_id}.png", compress_level=1)
        for name in spec.types:
            for level in spec.levels:
                rng = distortion_rng(spec.seed, ref_id, name, level)
                out = apply_distortion(image, name, level, rng, scheme=spec.scheme)
                Image.fromarray(out).save(out_dir / "dist" / f"{ref_id}__{name}__{level}.png", compress_level=1)
                count += 1
    return count


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.png"))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refs", type=int, default=4, help="number of 512x384 references (default 4)")
    parser.add_argument("--threads", type=int, default=2, help="dask workers (default 2)")
    parser.add_argument(
        "--schedulers",
        nargs="+",
        default=["threads"],
        choices=["threads", "processes", "synchronous"],
        help="dask schedulers to time (default: threads)",
    )
    parser.add_argument("--types", nargs="+", default=None, help="subset of types (default: all 25 KADID types)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    crops = references(args.refs)
    spec = BankSpec(types=tuple(args.types or distortions_in("natural")), seed=args.seed)
    n_images = len(crops) * len(spec.types) * len(spec.levels)
    print(
        f"{len(crops)} references of {WIDTH}x{HEIGHT}, {len(spec.types)} types x {len(spec.levels)} levels = "
        f"{n_images} images; {os.cpu_count()} CPUs visible; dask workers {args.threads}",
        flush=True,
    )
    rows = []
    identical = True
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        run_loop(crops, spec, root / "loop")
        loop_s = time.perf_counter() - start
        rows.append(("loop (1 image at a time)", 1, loop_s))
        reference = files(root / "loop")
        for scheduler in args.schedulers:
            out = root / scheduler
            start = time.perf_counter()
            write_bank(crops, spec, out_dir=out, threads=args.threads, scheduler=scheduler)
            rows.append((f"bank.write_bank, dask {scheduler}", args.threads, time.perf_counter() - start))
            same = files(out) == reference
            identical &= same
            print(f"{scheduler}: outputs byte-identical to the loop: {same}", flush=True)
    print("\n| run | workers | seconds | images/s | speed-up vs loop |\n|---|---|---|---|---|")
    for name, workers, seconds in rows:
        print(f"| {name} | {workers} | {seconds:.1f} | {n_images / seconds:.2f} | {loop_s / seconds:.2f}x |")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
