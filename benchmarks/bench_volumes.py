"""Peak memory and volumes/s on a 256^3 volume: artefact generation and feature extraction (CPU by default).

The volume is nilearn's MNI152 T1 read at 1 mm, normalised and zero-padded to 256^3 (``read_volume``). Every
measurement runs in a fresh subprocess, so its peak resident memory (``resource.getrusage(...).ru_maxrss``) is its
own; ``setup MiB`` is that high-water mark after imports and loading the volume (and building the encoder), and
``peak MiB`` after the work, so ``peak - setup`` is what the work itself added. Feature extraction compares the
sliding-window path (``perceptflow.features.volumes.extract.encode_volume``) with the whole volume in one forward
pass, the baseline, on the same encoder (random init, seed 0).

    python benchmarks/bench_volumes.py                           # ten artefacts at level 3; windowed vs whole
    python benchmarks/bench_volumes.py --artefacts mri_blur mri_motion --widths 8 16 32 64 --window 64 --stride 64
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

SIDE = 256
LIMIT_MIB = 4096


def peak_mib() -> float:
    """This process's peak resident memory in MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_volume(path: Path) -> None:
    from perceptflow.data.volumes.nifti import NiftiConfig, demo_volumes, read_volume

    config = NiftiConfig(spacing=1.0, shape=(SIDE, SIDE, SIDE))
    np.save(path, read_volume(demo_volumes()["mni152_t1"], config)[0].data)


def measure_artefact(volume_path: str, name: str, level: int, repeats: int) -> dict:
    from perceptflow.distortions import distortion_rng
    from perceptflow.distortions.medical import apply_volume_distortion

    volume = np.load(volume_path)
    setup = peak_mib()
    start = time.perf_counter()
    for repeat in range(repeats):
        apply_volume_distortion(volume, name, level, distortion_rng(repeat, "bench", name, level))
    seconds = (time.perf_counter() - start) / repeats
    return {"task": f"artefact {name} L{level}", "seconds": seconds, "setup_mib": setup, "peak_mib": peak_mib()}


def measure_extract(volume_path: str, widths: list[int], window: int, stride: int, batch: int, threads: int) -> dict:
    import torch

    from perceptflow.features.volumes.extract import WindowSpec, encode_volume
    from perceptflow.models.volumes import build_volume_encoder

    torch.set_num_threads(threads)
    volume = np.load(volume_path)
    encoder = build_volume_encoder(widths, seed=0).eval()
    spec = WindowSpec(window=window, stride=min(stride, window), batch_size=batch)
    setup = peak_mib()
    start = time.perf_counter()
    encode_volume(encoder, volume, spec, device=torch.device("cpu"))
    seconds = time.perf_counter() - start
    label = "whole volume (baseline)" if window >= SIDE else f"windows {window}^3 stride {spec.stride} batch {batch}"
    return {"task": f"extract, {label}", "seconds": seconds, "setup_mib": setup, "peak_mib": peak_mib()}


def child(args: argparse.Namespace) -> None:
    if args.child == "artefact":
        result = measure_artefact(args.volume, args.name, args.level, args.repeats)
    else:
        result = measure_extract(args.volume, args.widths, args.window, args.stride, args.batch_size, args.threads)
    print(json.dumps(result))


def run_child(volume: Path, *extra: str) -> dict:
    command = [sys.executable, __file__, "--volume", str(volume), *extra]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    from perceptflow.distortions.medical.registry import MEDICAL_DISTORTIONS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", choices=["artefact", "extract"], help=argparse.SUPPRESS)
    parser.add_argument("--volume", help=argparse.SUPPRESS)
    parser.add_argument("--name", help=argparse.SUPPRESS)
    parser.add_argument("--artefacts", nargs="+", default=list(MEDICAL_DISTORTIONS))
    parser.add_argument("--level", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--widths", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--stride", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-whole", action="store_true", help="skip the whole-volume extraction baseline")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        volume = Path(folder) / "volume.npy"
        make_volume(volume)
        common = ["--level", str(args.level), "--repeats", str(args.repeats)]
        for name in args.artefacts:
            rows.append(run_child(volume, "--child", "artefact", "--name", name, *common))
            print(_line(rows[-1]), flush=True)
        widths = ["--widths", *map(str, args.widths), "--threads", str(args.threads)]
        windows = [(args.window, args.stride, args.batch_size)] + ([] if args.skip_whole else [(SIDE, SIDE, 1)])
        for window, stride, batch in windows:
            extra = ["--window", str(window), "--stride", str(stride), "--batch-size", str(batch)]
            rows.append(run_child(volume, "--child", "extract", *widths, *extra))
            print(_line(rows[-1]), flush=True)
    print(f"\n256^3 volume, float32 ({SIDE**3 * 4 / 2**20:.0f} MiB); encoder widths {tuple(args.widths)}")
    print("| task | s/volume | volumes/s | setup MiB | peak MiB | added by the work MiB | under 4 GiB |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(_line(row))


def _line(row: dict) -> str:
    added = row["peak_mib"] - row["setup_mib"]
    under = "yes" if row["peak_mib"] <= LIMIT_MIB else "no"
    return (
        f"| {row['task']} | {row['seconds']:.2f} | {1 / row['seconds']:.3f} | {row['setup_mib']:.0f} | "
        f"{row['peak_mib']:.0f} | {added:.0f} | {under} |"
    )


if __name__ == "__main__":
    main()
