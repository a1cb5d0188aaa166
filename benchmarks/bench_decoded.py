"""Training from the decoded-image cache vs from PNG files, side by side in one run (issue 14, item 3).

For each method, the same bank and seed are trained twice, once reading PNGs in the loader workers and once from
`perceptflow.data.decoded`; printed per run: seconds per epoch, images/s and the share of the epoch spent waiting
for batches (``data_wait_fraction``), plus the loader alone (no model) in images/s. CPU here; CUDA where present.

    python benchmarks/bench_decoded.py --size 256 --crop 128 --epochs 2 --methods contrique simclr mixup
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch
from bench_train_extract import make_bank  # run as a script: benchmarks/ is on sys.path

from perceptflow.data.decoded import decoded_images
from perceptflow.ssl import METHODS, TrainConfig, TrainSample
from perceptflow.ssl.training import train_from_manifest
from perceptflow.ssl.views import TwoScaleViews


def loader_images_per_s(samples: list[TrainSample], config: TrainConfig, cache: Path | None, workers: int) -> float:
    """Views of every image through a DataLoader, no model: the data path's own ceiling."""
    dataset = TwoScaleViews(samples, crop_size=config.crop_size)
    paths = [s.path for s in samples]
    dataset.decoded = decoded_images(paths, cache) if cache else None
    loader = torch.utils.data.DataLoader(dataset, batch_size=config.batch_size, num_workers=workers)
    start = time.perf_counter()
    for _ in loader:
        pass
    return len(paths) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--methods", nargs="+", default=["contrique", "simclr", "mixup"])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    report: dict[str, object] = {"device": "cuda" if torch.cuda.is_available() else "cpu", "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "bank").mkdir()
        samples = make_bank(root / "bank", args.size)
        manifest = root / "bank" / "manifest.csv"
        rows = [{"path": s.path.name, "class_label": s.label} for s in samples]
        pd.DataFrame(rows).to_csv(manifest, index=False)
        config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, crop_size=args.crop, seed=0)
        paths = [s.path for s in samples]
        start = time.perf_counter()
        decoded_images(paths, root / "cache")
        report |= {"images": len(paths), "cache_build_s": time.perf_counter() - start}
        workers = max(1, args.threads // 2)
        report["loader_images_per_s"] = {
            name: loader_images_per_s(samples, config, cache, workers)
            for name, cache in (("files", None), ("cache", root / "cache"))
        }
        for method in args.methods:
            for name, cache in (("files", None), ("cache", root / "cache")):
                run = root / f"{method}_{name}"
                history = train_from_manifest(
                    METHODS[method], config, manifest, checkpoint_dir=run / "ckpt", encoder_out=run / "encoder.pt",
                    threads=args.threads, decoded_cache=cache,
                )  # fmt: skip
                last = history[-1]  # the first epoch also pays start-up: report the last
                report["runs"].append(  # type: ignore[union-attr]
                    {"method": method, "source": name}
                    | {k: last.get(k) for k in ("seconds", "images_per_s", "data_wait_fraction")}
                )
                print(json.dumps(report["runs"][-1]), flush=True)  # type: ignore[index]
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
