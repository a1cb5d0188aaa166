"""Evaluate one encoder checkpoint on one rated dataset outside the workflow (``perceptflow evaluate``).

Runs extract, regress and evaluate in memory with the same library code the workflow's rules use, including the
PSNR/SSIM and random-init baselines on the same splits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from perceptflow.data.datasets import DatasetTable
from perceptflow.evaluate.stage import (
    ModelOutputs,
    build_metrics,
    compute_fr_baselines,
    write_metrics,
    write_plots,
)
from perceptflow.features.extract import encode_table
from perceptflow.features.fr import lpips_values
from perceptflow.metric.export import DEFAULT_FR_LAYERS
from perceptflow.models import build_encoder, load_encoder
from perceptflow.regress.splits import content_splits, splits_to_json
from perceptflow.regress.stage import ridge_on_features
from perceptflow.types import PathLikeStr

DEFAULT_ALPHAS = (0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)


@dataclass(frozen=True)
class EvaluationSettings:
    """Protocol settings; the defaults match the workflow's ``regress`` and ``evaluate`` sections."""

    n_splits: int = 10
    fractions: tuple[float, float, float] = (0.7, 0.1, 0.2)
    alphas: Sequence[float] = DEFAULT_ALPHAS
    seed: int = 0
    batch_size: int = 32
    fr_distance: str = "l2"
    random_init_seed: int = 0
    fr_layers: tuple[str, ...] = DEFAULT_FR_LAYERS


def evaluate_checkpoint(
    checkpoint: PathLikeStr,
    table: DatasetTable,
    *,
    out_dir: PathLikeStr,
    settings: EvaluationSettings = EvaluationSettings(),
    device: torch.device | None = None,
) -> dict[str, Any]:
    """Extract, regress and evaluate ``checkpoint`` on ``table``; write metrics.json, plots and predictions."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    splits = content_splits(list(table.frame["ref_id"]), settings.n_splits, settings.fractions, settings.seed)
    encoder, payload = load_encoder(checkpoint)
    random_init = build_encoder(payload["arch"], seed=settings.random_init_seed)
    outputs = {}
    for name, model in (("model", encoder), ("random_init", random_init)):
        store = encode_table(model, table, batch_size=settings.batch_size, device=device)
        ridge = ridge_on_features(store.features, table, splits, alphas=settings.alphas)
        lpips = lpips_values(model, table, layers=settings.fr_layers, batch_size=settings.batch_size)
        fr = {} if lpips is None else {"lpips": lpips}
        outputs[name] = ModelOutputs(store=store, predictions=ridge.predictions, fr=fr)
    fr_scores, fr_skips = compute_fr_baselines(table)
    metrics = build_metrics(
        method=str(payload.get("method", Path(checkpoint).stem)),
        table=table,
        splits=splits,
        model=outputs["model"],
        baselines={"random_init": outputs["random_init"]},
        fr_scores=fr_scores,
        fr_distance=settings.fr_distance,
        fr_skips=fr_skips,
        alphas=settings.alphas,
    )
    metrics["checkpoint"] = str(checkpoint)
    write_metrics(metrics, out_dir / "metrics.json")
    write_plots(
        metrics,
        outputs["model"].predictions,
        scatter=out_dir / "scatter.png",
        per_type=out_dir / "srcc_per_type.png",
    )
    outputs["model"].predictions.to_csv(out_dir / "predictions.csv", index=False)
    splits_to_json(splits, list(table.frame["ref_id"]), out_dir / "splits.json")
    return metrics
