"""``perceptflow score``: score images with a metric file (one pair, two folders, a CSV, or a folder for NR)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

from perceptflow.data.images import image_files


def add_score_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``score`` subcommand."""
    parser = subparsers.add_parser(
        "score",
        help="score images with a metric file (results/metric/<encoder>/*.pt)",
        description="Full-reference: --ref A --dist B, --ref-dir R --dist-dir D (paired by file name), or --csv F "
        "(columns dist and ref). No-reference (a <dataset>.pt file): --dist B, --dist-dir D, or --csv F with dist "
        "only. FR scores are distances: lower = closer to the reference. Images are read as RGB and scaled to "
        "[0, 1]; a 3D metric (results/volumes/metric/...) scores NIfTI volumes (.nii, .nii.gz), read through the "
        "preprocessing its file records (--info shows it). Relative CSV paths are relative to the CSV's folder.",
    )
    parser.add_argument("--metric", type=Path, help="metric file (perceptflow.metric/1, or an adapt_dps metric.pt)")
    parser.add_argument("--context", help="context of an adapt_dps metric.pt")
    parser.add_argument("--info", type=Path, metavar="FILE", help="print what a metric file holds and exit")
    parser.add_argument("--ref", type=Path, help="reference image (with --dist)")
    parser.add_argument("--dist", type=Path, help="distorted image")
    parser.add_argument("--ref-dir", type=Path, help="folder of references, paired with --dist-dir by file name")
    parser.add_argument("--dist-dir", type=Path, help="folder of distorted images")
    parser.add_argument("--csv", type=Path, help="CSV with a 'dist' column and an optional 'ref' column")
    parser.add_argument("--out", type=Path, help="write a CSV with columns dist, ref (FR) and score")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--batch-size", type=int, default=32, help="images per forward pass (default 32)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--as-stored",
        action="store_true",
        help="3D metrics: read volumes as stored (already preprocessed, e.g. the volume bank's), not through the "
        "metric's NIfTI preprocessing",
    )
    parser.set_defaults(func=run_score)


def run_score(args: argparse.Namespace) -> int:
    """Score, print a summary, write ``--out``; ValueError (exit 2) on bad input."""
    from perceptflow.metric import load_metric, score_paths
    from perceptflow.models import pick_device

    if args.info is not None:
        metric = load_metric(args.info, context=args.context)
        print(json.dumps(metric.info(), indent=2, default=str))
        return 0
    if args.metric is None:
        raise ValueError("give --metric FILE (or --info FILE)")
    started = time.perf_counter()
    metric = load_metric(args.metric, device=pick_device(args.device), context=args.context)
    dists, refs, unmatched = collect_inputs(args, volumes=metric.modality == "3d")
    check_modality(args.metric, metric.modality, [*dists, *(refs or [])])
    if refs is None and not metric.has_nr:
        raise ValueError(
            f"{args.metric} has no no-reference head: give references (--ref, --ref-dir or a 'ref' column)"
        )
    loaded = time.perf_counter()
    scores = score_paths(
        metric, dists, refs, batch_size=args.batch_size, progress=not args.no_progress, as_stored=args.as_stored
    )
    done = time.perf_counter()
    frame = pd.DataFrame({"dist": [str(p) for p in dists]})
    if refs is not None:
        frame["ref"] = [str(p) for p in refs]
    frame["score"] = scores
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(args.out, index=False)
    lower_better = metric.fr_lower_better if refs is not None else bool(metric.nr_lower_better)
    print(summary_line(frame, lower_better=lower_better, fr=refs is not None))
    rate = len(frame) / max(done - loaded, 1e-9)
    print(f"time: start-up {loaded - started:.2f} s, scoring {done - loaded:.2f} s ({rate:.1f} img/s)")
    if args.out is not None:
        print(f"wrote {args.out}")
    if unmatched:
        print(f"{len(unmatched)} file(s) without a partner of the same name, not scored (listed on stderr)")
    for name in unmatched:
        print(f"unmatched (not scored): {name}", file=sys.stderr)
    return 0


def summary_line(frame: pd.DataFrame, *, lower_better: bool, fr: bool) -> str:
    """One line: count, mean, median, range and what the score means."""
    scores = frame["score"]
    meaning = "FR distance" if fr else "NR prediction"
    direction = "lower = better" if lower_better else "higher = better"
    if len(frame) == 1:
        return f"score {scores.iloc[0]:.6g} ({meaning}, {direction})"
    return (
        f"{len(frame)} images: mean {scores.mean():.6g}, median {scores.median():.6g}, "
        f"min {scores.min():.6g}, max {scores.max():.6g} ({meaning}, {direction})"
    )


def volume_files(folder: Path) -> list[Path]:
    """The NIfTI files of ``folder``, sorted by name."""
    from perceptflow.data.volumes.datasets import is_volume_path

    return sorted(p for p in folder.iterdir() if p.is_file() and is_volume_path(p))


def check_modality(metric: Path, modality: str, paths: list[Path]) -> None:
    """Refuse NIfTI files for a 2D metric and anything else for a 3D one, naming the first such file."""
    from perceptflow.data.volumes.datasets import is_volume_path

    for path in paths:
        if is_volume_path(path) != (modality == "3d"):
            wanted = "NIfTI volumes (.nii, .nii.gz)" if modality == "3d" else "2D images"
            raise ValueError(f"{path}: {metric} is a {modality.upper()} metric and scores {wanted} only")


def collect_inputs(
    args: argparse.Namespace, *, volumes: bool = False
) -> tuple[list[Path], list[Path] | None, list[str]]:
    """(distorted files, their references or None for NR, unmatched names) from the arguments; folders list NIfTI
    files when ``volumes``, else images."""
    modes = [name for name in ("dist", "dist_dir", "csv") if getattr(args, name) is not None]
    if len(modes) != 1:
        raise ValueError("give exactly one of --dist, --dist-dir or --csv")
    if args.csv is not None:
        return (*read_pairs_csv(args.csv), [])
    if args.dist is not None:
        if args.ref_dir is not None:
            raise ValueError("--ref-dir pairs with --dist-dir; with --dist give --ref")
        return [args.dist], None if args.ref is None else [args.ref], []
    if args.ref is not None:
        raise ValueError("--ref pairs with --dist; with --dist-dir give --ref-dir")
    return pair_folders(args.dist_dir, args.ref_dir, volumes=volumes)


def read_pairs_csv(path: Path) -> tuple[list[Path], list[Path] | None]:
    """Paths of the ``dist`` (and ``ref``) columns; relative ones are relative to the CSV's folder."""
    if not path.is_file():
        raise FileNotFoundError(f"CSV not found: {path}")
    frame = pd.read_csv(path)
    if "dist" not in frame.columns:
        raise ValueError(f"{path}: no 'dist' column (columns: {list(frame.columns)})")
    if frame.empty:
        raise ValueError(f"{path}: no rows")
    for column in ("dist", "ref"):
        if column in frame.columns and frame[column].isna().any():
            raise ValueError(
                f"{path}: column {column!r} has empty cells (row {int(frame[column].isna().idxmax()) + 2})"
            )

    def resolve(values: pd.Series) -> list[Path]:
        return [p if p.is_absolute() else path.parent / p for p in map(Path, values.astype(str))]

    return resolve(frame["dist"]), resolve(frame["ref"]) if "ref" in frame.columns else None


def pair_folders(
    dist_dir: Path, ref_dir: Path | None, *, volumes: bool = False
) -> tuple[list[Path], list[Path] | None, list[str]]:
    """Files of ``dist_dir`` (images, or NIfTI volumes when ``volumes``) paired with the same file name in
    ``ref_dir``; the names without a partner."""
    for folder in (dist_dir, ref_dir):
        if folder is not None and not folder.is_dir():
            raise FileNotFoundError(f"folder not found: {folder}")
    files = volume_files if volumes else image_files
    dists = files(dist_dir)
    if not dists:
        raise ValueError(f"{dist_dir}: no {'NIfTI' if volumes else 'image'} files")
    if ref_dir is None:
        return dists, None, []
    refs = {p.name: p for p in files(ref_dir)}
    paired = [p for p in dists if p.name in refs]
    unmatched = [str(p) for p in dists if p.name not in refs]
    unmatched += [str(p) for name, p in refs.items() if name not in {d.name for d in dists}]
    if not paired:
        raise ValueError(f"no file name of {dist_dir} is also in {ref_dir}: nothing to pair")
    return paired, [refs[p.name] for p in paired], unmatched
