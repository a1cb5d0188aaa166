"""``perceptflow evaluate``: score an encoder checkpoint on a rated CSV dataset."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from perceptflow.evaluate.standalone import DEFAULT_ALPHAS, EvaluationSettings


def add_evaluate_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``evaluate`` subcommand."""
    parser = subparsers.add_parser(
        "evaluate",
        help="extract + regress + evaluate one CSV dataset with an encoder checkpoint",
        description="Extract frozen features with CHECKPOINT, fit ridge on reference-separated splits, and write "
        "DIR/metrics.json (NR ridge, FR zero-shot, PSNR/SSIM and random-init baselines) plus plots.",
    )
    parser.add_argument("--checkpoint", required=True, type=Path, help="encoder.pt written by the train stage")
    parser.add_argument("--manifest", required=True, type=Path, help="CSV with columns dist, optional ref, score")
    parser.add_argument("--score-column", required=True, help="column of the CSV holding the quality score")
    direction = parser.add_mutually_exclusive_group(required=True)
    direction.add_argument("--higher-is-better", dest="higher_is_better", action="store_true", help="MOS-like")
    direction.add_argument("--lower-is-better", dest="higher_is_better", action="store_false", help="DMOS-like")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--n-splits", type=int, default=10, help="reference-separated splits (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split draw")
    parser.add_argument("--alphas", type=float, nargs="+", default=list(DEFAULT_ALPHAS), help="ridge alpha grid")
    parser.add_argument("--batch-size", type=int, default=32, help="images per forward pass")
    parser.add_argument("--fr-distance", choices=["l2", "l1", "cosine"], default="l2", help="FR feature distance")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.set_defaults(func=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    """Run the evaluation and print the headline numbers."""
    from perceptflow.data.datasets import load_csv_dataset
    from perceptflow.evaluate.standalone import evaluate_checkpoint
    from perceptflow.models import pick_device

    table = load_csv_dataset(args.manifest, score_column=args.score_column, higher_is_better=args.higher_is_better)
    settings = EvaluationSettings(
        n_splits=args.n_splits,
        alphas=tuple(args.alphas),
        seed=args.seed,
        batch_size=args.batch_size,
        fr_distance=args.fr_distance,
    )
    metrics = evaluate_checkpoint(
        args.checkpoint, table, out_dir=args.out, settings=settings, device=pick_device(args.device)
    )
    headline = {
        "n_images": metrics["n_images"],
        "n_refs": metrics["n_refs"],
        "nr_ridge.srcc_median": metrics["nr_ridge"]["srcc_median"],
        "fr_zero_shot.srcc": metrics["fr_zero_shot"].get("srcc"),
        "fr_lpips.srcc": metrics.get("fr_lpips", {}).get("srcc"),
        "contrique_fr_ridge.srcc_median": metrics.get("contrique_fr_ridge", {}).get("srcc_median"),
        "psnr.srcc": metrics["baselines"]["psnr"]["fr_zero_shot"].get("srcc"),
    }
    print(json.dumps(headline, indent=2))
    print(f"wrote {Path(args.out) / 'metrics.json'}")
    return 0
