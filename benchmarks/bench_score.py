r"""``perceptflow score`` throughput vs the pure forward pass of the same encoder on the same decoded images.

Side by side in one run: (a) ``perceptflow score --csv`` in a fresh process on N distorted images of the demo bank
with their references (first read to last score, from the command's own timing line; start-up reported apart);
(b) the encoder's forward pass alone (``encoder(batch)``, full trunk, same batch size) on the same images decoded
into memory beforehand; (c) the metric's own feature pass (trunk up to its last layer) on them. The issue's target
is (a) >= 0.9 x (b).

    .venv/bin/python benchmarks/bench_score.py --bank results/distort/manifest.csv --metric \
        results/metric/contrique/fr.pt --n 200
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def bank_pairs(manifest: Path, n: int) -> pd.DataFrame:
    """The first ``n`` distorted images of a distort manifest with their references (absolute paths)."""
    frame = pd.read_csv(manifest)
    frame = frame[frame["dist_type"] != "pristine"].head(n)
    root = manifest.parent
    return pd.DataFrame(
        {"dist": [str(root / p) for p in frame["path"]], "ref": [str(root / p) for p in frame["ref_path"]]}
    )


def forward_throughput(metric_file: Path, pairs: pd.DataFrame, *, device: str, batch_size: int) -> dict[str, float]:
    """Images per second of the encoder's full forward and of the metric's feature pass on pre-decoded images."""
    import torch

    from perceptflow.data.images import load_rgb
    from perceptflow.metric import load_metric

    metric = load_metric(metric_file, device=device)
    images = torch.from_numpy(np.stack([load_rgb(p) for p in pairs["dist"]])).permute(0, 3, 1, 2).float() / 255
    batches = [images[i : i + batch_size].to(device) for i in range(0, len(images), batch_size)]
    out = {}
    for name, step in (("encoder_forward", metric.encoder), ("metric_features", metric.features)):
        with torch.inference_mode():
            step(batches[0])  # warm-up
            _sync(device)
            start = time.perf_counter()
            for batch in batches:
                step(batch)
            _sync(device)
        out[f"{name}_img_per_s"] = len(images) / (time.perf_counter() - start)
    return out


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def score_throughput(metric_file: Path, pairs: pd.DataFrame, *, device: str, batch_size: int) -> dict[str, float]:
    """``perceptflow score --csv`` in a fresh process: start-up, scoring seconds and images per second."""
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "pairs.csv"
        pairs.to_csv(csv, index=False)
        command = [sys.executable, "-m", "perceptflow.cli.main", "score", "--metric", str(metric_file), "--csv",
                   str(csv), "--device", device, "--batch-size", str(batch_size), "--no-progress"]  # fmt: skip
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - started
    match = re.search(r"time: start-up ([\d.]+) s, scoring ([\d.]+) s", result.stdout)
    if match is None:
        raise RuntimeError(f"no timing line in the score output:\n{result.stdout}\n{result.stderr}")
    startup, scoring = float(match[1]), float(match[2])
    return {
        "score_img_per_s": len(pairs) / scoring,
        "score_seconds": scoring,
        "metric_load_seconds": startup,
        "process_startup_seconds": wall - scoring - startup,
    }


def measure(metric_file: Path, pairs: pd.DataFrame, *, device: str, batch_size: int) -> dict[str, Any]:
    """Both measurements and their ratios."""
    row: dict[str, Any] = {"n_images": len(pairs), "device": device, "batch_size": batch_size}
    row.update(score_throughput(metric_file, pairs, device=device, batch_size=batch_size))
    row.update(forward_throughput(metric_file, pairs, device=device, batch_size=batch_size))
    row["score_vs_encoder_forward"] = row["score_img_per_s"] / row["encoder_forward_img_per_s"]
    row["score_vs_metric_features"] = row["score_img_per_s"] / row["metric_features_img_per_s"]
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}


def main() -> None:
    """Print one JSON line of measurements."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bank", type=Path, required=True, help="a distort manifest.csv (demo bank)")
    parser.add_argument("--metric", type=Path, required=True, help="a metric file (results/metric/<encoder>/fr.pt)")
    parser.add_argument("--n", type=int, default=200, help="distorted images (default 200)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    pairs = bank_pairs(args.bank, args.n)
    print(json.dumps(measure(args.metric, pairs, device=args.device, batch_size=args.batch_size)))


if __name__ == "__main__":
    main()
