"""Calibrate the five levels of each 3D medical artefact and print the severity table.

Usage::

    .venv/bin/python benchmarks/calibrate_medical.py            # table of the registered levels, seeds 0-3
    .venv/bin/python benchmarks/calibrate_medical.py --search   # bisect new levels for the NRMSE ladder

The volume is the MNI152 T1 (nilearn) at 3 mm, 64^3. ``--search`` finds, per type and level, the
parameter whose NRMSE against the clean volume is ``TARGET_STEP * level`` (seed 0, the level's own
``distortion_rng``), rounded to 3 significant digits: paste the result into MEDICAL_DISTORTIONS.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from perceptflow.distortions import distortion_rng
from perceptflow.distortions.medical import MEDICAL_DISTORTIONS
from perceptflow.distortions.medical.api import calibration_volume, severity_table, step_ratio
from perceptflow.measures import nrmse

#: NRMSE of level L is TARGET_STEP * L on the calibration volume: even steps, the same ladder for every type.
TARGET_STEP = 0.04
#: Parameter search interval per type; the bool says the artefact grows as the parameter falls.
SEARCH: dict[str, tuple[float, float, bool]] = {
    "mri_motion": (0.01, 0.95, False),
    "mri_ghosting": (0.005, 1.5, False),
    "mri_spike": (0.002, 1.0, False),
    "mri_bias_field": (0.002, 0.5, False),
    "mri_blur": (0.05, 5.0, False),
    "mri_rician_noise": (0.001, 0.3, False),
    "mri_gibbs_ringing": (0.05, 0.99, True),
    "mri_undersampling": (1.001, 12.0, False),
    "mri_anisotropic": (1.01, 16.0, False),
    "mri_gamma": (1.001, 5.0, False),
}
VOLUME_ID = "mni152_t1"


def search_level(volume: np.ndarray, name: str, level: int, iterations: int = 16) -> float:
    """Bisect the parameter whose NRMSE at ``level`` (seed 0) is ``TARGET_STEP * level``."""
    low, high, falling = SEARCH[name]
    fn = MEDICAL_DISTORTIONS[name].fn
    target = TARGET_STEP * level
    for _ in range(iterations):
        mid = (low + high) / 2.0
        error = nrmse(volume, fn(volume, mid, distortion_rng(0, VOLUME_ID, name, level)))
        if (error < target) != falling:
            low = mid
        else:
            high = mid
    return float(f"{(low + high) / 2.0:.3g}")


def _demo_volume(volume_id: str) -> np.ndarray:
    """A bundled volume at the calibration grid: 3 mm, normalised, 64^3."""
    from perceptflow.data.volumes.nifti import NiftiConfig, demo_volumes, read_volume

    return read_volume(demo_volumes()[volume_id], NiftiConfig(spacing=3.0, shape=(64, 64, 64)))[0].data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--search", action="store_true", help="bisect new levels instead of checking the registry")
    parser.add_argument("--types", nargs="+", default=list(MEDICAL_DISTORTIONS), help="types (default all)")
    parser.add_argument(
        "--volume",
        default=VOLUME_ID,
        help="check on another demo volume (demo_volumes() id; default the calibration volume)",
    )
    parser.add_argument("--seeds", type=int, default=4, help="seeds for the robustness columns (default 4)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    volume = calibration_volume() if args.volume == VOLUME_ID else _demo_volume(args.volume)
    start = time.perf_counter()
    if args.search:
        for name in args.types:
            levels = tuple(search_level(volume, name, level) for level in range(1, 6))
            print(f"{name:<20} {levels}", flush=True)
        print(f"# searched in {time.perf_counter() - start:.0f} s")
        return 0
    print("| type | level | parameter | NRMSE | 3D SSIM |")
    print("|---|---|---|---|---|")
    tables = [severity_table(volume, args.volume, seed, ssim=seed == 0) for seed in range(args.seeds)]
    for name, rows in tables[0].items():
        for level, (value, error, ssim) in enumerate(rows, start=1):
            print(f"| {name} | {level} | {value:g} | {error:.4f} | {ssim:.4f} |")
    print("\n| type | NRMSE step ratio, seeds " + ", ".join(map(str, range(args.seeds))) + " | SSIM falls |")
    print("|---|---|---|")
    for name in tables[0]:
        ratios = [step_ratio([row[1] for row in table[name]]) for table in tables]
        falls = bool(np.all(np.diff([row[2] for row in tables[0][name]]) < 0))
        print(f"| {name} | {', '.join(f'{r:.2f}' for r in ratios)} | {'yes' if falls else 'no'} |")
    print(f"\n# {args.seeds} seeds x 10 types x 5 levels in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
