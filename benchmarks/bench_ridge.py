"""Ridge on splits: today's out-of-core Gram path against the previous full-SVD path, side by side.

Synthetic features (float32, a common offset plus noise, targets a noisy linear function of them) are written once
to a Zarr store in row chunks, with content splits over groups of 20 rows. Each path then runs in its own Python
process (so peak RSS is its own): ``old`` is the earlier implementation kept verbatim in
``benchmarks/ridge_svd_baseline.py`` (features copied to float64, one SVD of the train rows per split), ``new``
is ``perceptflow.regress.fit_ridge_on_splits``; ``--source memory`` hands both a numpy array read from the store,
``--source zarr`` hands the new path the Zarr array itself (the old one cannot take it). Prints seconds and peak
RSS of each, the ratios, the chosen alphas and the largest prediction difference.

    python benchmarks/bench_ridge.py --n 60000 --dim 2048 --splits 10 --alphas 100
    python benchmarks/bench_ridge.py --n 100000 --dim 4096 --splits 10 --source zarr --skip-old
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
import zarr

from perceptflow.regress import content_splits, splits_from_json, splits_to_json

HERE = Path(__file__).resolve().parent


def make_data(folder: Path, n: int, dim: int, splits: int, seed: int = 0) -> None:
    """features.zarr (N x D float32, 1024-row chunks), targets.npy, splits.json; written chunk by chunk."""
    rng = np.random.default_rng(seed)
    array = zarr.create_array(str(folder / "features.zarr"), shape=(n, dim), dtype="float32", chunks=(1024, dim))
    weights = rng.normal(size=dim) / np.sqrt(dim)
    targets = np.empty(n)
    for start in range(0, n, 1024):
        rows = min(1024, n - start)
        block = (rng.normal(size=(rows, dim)) + 1.0).astype(np.float32)
        array[start : start + rows] = block
        targets[start : start + rows] = block @ weights + rng.normal(scale=0.5, size=rows)
    np.save(folder / "targets.npy", targets)
    groups = [str(i // 20) for i in range(n)]
    splits_to_json(content_splits(groups, splits, (0.7, 0.1, 0.2), seed), groups, folder / "splits.json")


def worker(folder: Path, path: str, source: str, alphas: int) -> None:
    """Runs in a child process: one fit, then its seconds, peak RSS and results as JSON on stdout."""
    store: zarr.Array = zarr.open_array(str(folder / "features.zarr"), mode="r")  # type: ignore[assignment]
    features = store if source == "zarr" else np.asarray(store[:])
    targets = np.load(folder / "targets.npy")
    splits = splits_from_json(folder / "splits.json")
    if path == "old":
        sys.path.insert(0, str(HERE))
        from ridge_svd_baseline import fit_ridge_on_splits
    else:
        from perceptflow.regress import fit_ridge_on_splits  # type: ignore[assignment]
    start = time.perf_counter()
    result = fit_ridge_on_splits(features, targets, splits, list(np.geomspace(1e-3, 1e3, alphas)))
    seconds = time.perf_counter() - start
    np.save(folder / f"pred_{path}.npy", result.predictions["prediction"].to_numpy())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    print(json.dumps({"seconds": seconds, "peak_gib": peak, "alphas": result.alphas}))


def run(folder: Path, path: str, source: str, alphas: int) -> dict:
    command = [sys.executable, __file__, "--worker", path, "--folder", str(folder), "--source", source]
    out = subprocess.run([*command, "--alphas", str(alphas)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=60000)
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--splits", type=int, default=10)
    parser.add_argument("--alphas", type=int, default=100)
    parser.add_argument("--source", choices=("memory", "zarr"), default="memory")
    parser.add_argument("--skip-old", action="store_true", help="only the new path (the old needs > 10 GiB at scale)")
    parser.add_argument("--worker", choices=("old", "new"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.folder, args.worker, args.source, args.alphas)
        return
    with tempfile.TemporaryDirectory(prefix="bench_ridge_") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        make_data(folder, args.n, args.dim, args.splits)
        print(f"data: N={args.n} D={args.dim} float32 Zarr, {args.splits} splits, {args.alphas} alphas "
              f"({time.perf_counter() - start:.0f} s to write)", flush=True)  # fmt: skip
        results = {"new": run(folder, "new", args.source, args.alphas)}
        print(f"new ({args.source}): {results['new']['seconds']:.1f} s, peak RSS {results['new']['peak_gib']:.2f} GiB")
        if args.skip_old:
            return
        results["old"] = run(folder, "old", "memory", args.alphas)
        old, new = results["old"], results["new"]
        print(f"old (memory): {old['seconds']:.1f} s, peak RSS {old['peak_gib']:.2f} GiB")
        speed, memory = old["seconds"] / new["seconds"], new["peak_gib"] / old["peak_gib"]
        print(f"speed-up old/new: {speed:.1f}x; peak RSS new/old: {memory:.2f}")
        difference = np.abs(np.load(folder / "pred_old.npy") - np.load(folder / "pred_new.npy")).max()
        flips = {s: (old["alphas"][s], a) for s, a in new["alphas"].items() if old["alphas"][s] != a}
        print(f"max |prediction difference| {difference:.2e}; chosen alphas that differ (old, new): {flips or 'none'}")


if __name__ == "__main__":
    main()
