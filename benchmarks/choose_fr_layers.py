r"""Choose the default layers of the LPIPS-style FR distance (``extract.fr_layers``) on the shared LIVE JPEG dev split
and the synthetic bank only, and report the pooled and ``contrique_fr_ridge`` FR scores beside it.

For every encoder (``random_init`` = ``build_encoder("resnet18", seed=0)``, plus ``name=encoder.pt``) and dataset,
prints the |SRCC| with the target of: the pooled L2 distance (``fr_zero_shot``), the LPIPS-style distance per layer
set, and ``contrique_fr_ridge`` (median test SRCC over 10 content splits). On the synthetic bank it also prints,
for the pooled distance and each layer set, the share of (reference, type) pairs whose score rises strictly with the
level (``rise ...``; the metric issue asks >= 95 %). The chosen default maximises the mean SRCC over encoders and
datasets; docs/metric.md records the table.

    .venv/bin/python benchmarks/choose_fr_layers.py --encoder contrique=results/train/contrique/encoder.pt \
        --bank results/distort/manifest.csv
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

LAYER_SETS = {
    "relu..layer4": ("relu", "layer1", "layer2", "layer3", "layer4"),
    "layer1..layer4": ("layer1", "layer2", "layer3", "layer4"),
    "relu..layer3": ("relu", "layer1", "layer2", "layer3"),
    "layer1..layer3": ("layer1", "layer2", "layer3"),
    "layer2..layer4": ("layer2", "layer3", "layer4"),
    "layer1..layer2": ("layer1", "layer2"),
}
LIVE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "live-jpeg-dev"


def tables(bank: Path | None, live: bool = True) -> dict:
    """LIVE dev (DMOS, lower = better) and, with ``bank``, the synthetic bank (level, higher = worse)."""
    from perceptflow.data.datasets import load_csv_dataset, load_dataset

    out = {}
    if live:
        out["live-jpeg-dev"] = load_csv_dataset(LIVE / "scores.csv", score_column="dmos", higher_is_better=False)
    if bank is not None:
        out["synthetic"] = load_dataset("synthetic", {"kind": "synthetic"}, synthetic_manifest=bank)
    return out


def scores_for(encoder: object, table: object, batch_size: int, layer_sets: dict) -> dict[str, float]:
    """|SRCC| of each FR score of ``encoder`` on ``table``."""
    from scipy.stats import spearmanr

    from perceptflow.evaluate.stage import feature_distances
    from perceptflow.evaluate.summary import summarize_nr
    from perceptflow.features.extract import encode_table
    from perceptflow.features.fr import lpips_values
    from perceptflow.regress.ridge import fit_ridge_on_splits
    from perceptflow.regress.splits import content_splits

    target = table.frame["target"].to_numpy(dtype=float)  # type: ignore[attr-defined]
    store = encode_table(encoder, table, batch_size=batch_size)  # type: ignore[arg-type]
    pooled = feature_distances(store, table)  # type: ignore[arg-type]
    row = {"pooled_l2": abs(spearmanr(pooled, target).statistic)}
    rises = {"pooled_l2": rise_share(table, pooled)}
    for name, layers in layer_sets.items():
        values = lpips_values(encoder, table, layers=layers, batch_size=batch_size)  # type: ignore[arg-type]
        row[f"lpips {name}"] = abs(spearmanr(values, target).statistic)
        rises[f"lpips {name}"] = rise_share(table, values)
    row |= {f"rise {key}": value for key, value in rises.items() if value is not None}
    splits = content_splits(list(table.frame["ref_id"]), 10, (0.7, 0.1, 0.2), 0)  # type: ignore[attr-defined]
    diff = np.abs(store.features - store.reference_rows(list(table.frame["ref_id"])))  # type: ignore[attr-defined]
    ridge = fit_ridge_on_splits(diff, target, splits, [10.0**k for k in range(-3, 4)])
    row["contrique_fr_ridge"] = abs(summarize_nr(ridge.predictions)["srcc_median"])
    return {key: round(float(value), 4) for key, value in row.items()}


def rise_share(table: object, scores: np.ndarray) -> float | None:
    """Share of (reference, type) pairs whose score rises strictly with the level; None without levels."""
    frame = table.frame.assign(score=scores)  # type: ignore[attr-defined]
    if "dist_type" not in frame or table.target_name != "level":  # type: ignore[attr-defined]
        return None
    frame = frame[frame["dist_type"] != "pristine"]
    groups = frame.groupby(["ref_id", "dist_type"])
    return float(np.mean([np.all(np.diff(g.sort_values("target")["score"].to_numpy()) > 0) for _, g in groups]))


def main() -> None:
    """Print one JSON line per (encoder, dataset), then the chosen layer set."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoder", action="append", default=[], help="name=encoder.pt (repeatable)")
    parser.add_argument("--bank", type=Path, help="the distort bank's manifest.csv (synthetic dataset)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--layer-sets", nargs="+", choices=list(LAYER_SETS), default=list(LAYER_SETS))
    parser.add_argument("--no-random-init", action="store_true", help="only the --encoder files")
    parser.add_argument("--no-live", action="store_true", help="only the bank")
    args = parser.parse_args()
    layer_sets = {name: LAYER_SETS[name] for name in args.layer_sets}
    import torch

    from perceptflow.models import build_encoder, load_encoder

    torch.set_num_threads(2)
    encoders = {} if args.no_random_init else {"random_init": build_encoder("resnet18", seed=0)}
    for spec in args.encoder:
        name, _, path = spec.partition("=")
        encoders[name] = load_encoder(path)[0]
    results = []
    for dataset, table in tables(args.bank, live=not args.no_live).items():
        for name, encoder in encoders.items():
            row = {
                "encoder": name,
                "dataset": dataset,
                **scores_for(encoder.eval(), table, args.batch_size, layer_sets),
            }
            print(json.dumps(row), flush=True)
            results.append(row)
    means = {key: float(np.mean([r[f"lpips {key}"] for r in results])) for key in layer_sets}
    print(json.dumps({"mean_srcc_by_layers": means, "chosen": max(means, key=means.__getitem__)}))


if __name__ == "__main__":
    main()
