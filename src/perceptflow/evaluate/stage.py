"""The evaluate stage: NR ridge and FR zero-shot metrics for one encoder on one dataset, beside baselines.

Every ``metrics.json`` carries baseline rows computed on the same splits: PSNR and SSIM (full-reference) and a
random-init encoder of the same architecture (features + ridge), so what training adds is visible in every result.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perceptflow.data.datasets import DatasetTable, read_table
from perceptflow.evaluate.full_reference import full_reference_baselines
from perceptflow.evaluate.plots import plot_bars, plot_scatter
from perceptflow.evaluate.summary import summarize_nr, summarize_zero_shot
from perceptflow.features.store import FeatureStore, read_feature_store
from perceptflow.regress.splits import Split, splits_from_json
from perceptflow.types import PathLikeStr

FR_BASELINES = ("psnr", "ssim")
#: Summary columns copied into the flat comparison table.
TABLE_KEYS = ("srcc", "plcc", "plcc_logistic", "krcc", "rmse")


@dataclass(frozen=True)
class ModelOutputs:
    """What one encoder produced for a dataset: its feature store and its ridge predictions."""

    store: FeatureStore
    predictions: pd.DataFrame


FR_DISTANCES = ("l2", "l1", "cosine")


def feature_distances(store: FeatureStore, table: DatasetTable, metric: str = "l2") -> np.ndarray | None:
    """Full-reference zero-shot score: distance between an image's features and its reference's.

    ``metric`` is ``l2`` (Euclidean), ``l1`` (sum of CONTRIQUE-FR's |f_ref - f|) or ``cosine`` (1 - cosine
    similarity). None when the dataset has no references.
    """
    if metric not in FR_DISTANCES:
        raise ValueError(f"evaluate.fr_distance must be one of {FR_DISTANCES}, got {metric!r}")
    if not table.has_references:
        return None
    refs = store.reference_rows(list(table.frame["ref_id"]))
    if metric == "l1":
        return np.abs(store.features - refs).sum(axis=1)
    if metric == "cosine":
        dot = (store.features * refs).sum(axis=1)
        norms = np.linalg.norm(store.features, axis=1) * np.linalg.norm(refs, axis=1)
        return 1.0 - dot / np.maximum(norms, 1e-12)
    return np.linalg.norm(store.features - refs, axis=1)


def compute_fr_baselines(table: DatasetTable, *, threads: int = 1) -> pd.DataFrame | None:
    """PSNR and SSIM of every (reference, image) pair on luminance; None when the dataset has no references."""
    if not table.has_references:
        return None
    scores = full_reference_baselines(list(table.frame["ref_path"]), list(table.frame["path"]), threads=threads)
    return scores.assign(image_id=table.frame["image_id"].to_numpy())


def model_summary(
    outputs: ModelOutputs, table: DatasetTable, splits: list[Split], *, fr_distance: str = "l2"
) -> dict[str, Any]:
    """``nr_ridge`` and ``fr_zero_shot`` summaries of one encoder."""
    types = table.frame["dist_type"]
    summary: dict[str, Any] = {"nr_ridge": summarize_nr(outputs.predictions, types=types)}
    distances = feature_distances(outputs.store, table, fr_distance)
    if distances is None:
        summary["fr_zero_shot"] = {"skipped": f"dataset {table.name!r} lists no reference images"}
    else:
        summary["fr_zero_shot"] = summarize_zero_shot(
            distances,
            table.frame["target"].to_numpy(dtype=float),
            score_higher_is_better=False,
            target_higher_is_better=table.higher_is_better,
            splits=splits,
            types=types.to_numpy(),
        )
    return summary


def build_metrics(
    *,
    method: str,
    table: DatasetTable,
    splits: list[Split],
    model: ModelOutputs,
    baselines: Mapping[str, ModelOutputs],
    fr_scores: pd.DataFrame | None,
    fr_distance: str = "l2",
) -> dict[str, Any]:
    """The content of ``metrics.json`` for ``method`` on ``table``, with baseline rows on the same splits."""
    metrics: dict[str, Any] = {
        "dataset": table.name,
        "method": method,
        "target": table.target_name,
        "higher_is_better": table.higher_is_better,
        "n_images": len(table.frame),
        "n_refs": table.n_refs,
        "n_splits": len(splits),
        "fr_distance": fr_distance,
        **model_summary(model, table, splits, fr_distance=fr_distance),
        "baselines": {
            name: model_summary(out, table, splits, fr_distance=fr_distance) for name, out in baselines.items()
        },
    }
    targets = table.frame["target"].to_numpy(dtype=float)
    for name in FR_BASELINES:
        if fr_scores is None:
            metrics["baselines"][name] = {"fr_zero_shot": {"skipped": "dataset lists no reference images"}}
            continue
        metrics["baselines"][name] = {
            "fr_zero_shot": summarize_zero_shot(
                fr_scores[name].to_numpy(dtype=float),
                targets,
                score_higher_is_better=True,
                target_higher_is_better=table.higher_is_better,
                splits=splits,
                types=table.frame["dist_type"].to_numpy(),
            )
        }
    metrics["table"] = comparison_rows(metrics)
    return metrics


def comparison_rows(metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Flatten a metrics dict into rows (model, mode, srcc, plcc, ...): medians over splits for NR, all-data
    correlations for FR zero-shot."""
    models = {metrics["method"]: metrics, **metrics["baselines"]}
    rows = []
    for model, summary in models.items():
        for mode in ("nr_ridge", "fr_zero_shot"):
            block = summary.get(mode)
            if not block or "skipped" in block:
                continue
            suffix = "_median" if mode == "nr_ridge" else ""
            row = {"dataset": metrics["dataset"], "model": model, "mode": mode}
            row.update({key: block.get(f"{key}{suffix}") for key in TABLE_KEYS if f"{key}{suffix}" in block})
            if mode == "fr_zero_shot" and "srcc_median" in block:
                row["srcc_median_test"] = block["srcc_median"]
            rows.append(row)
    return rows


def write_metrics(metrics: Mapping[str, Any], path: PathLikeStr) -> None:
    """Write metrics as JSON (NaN written as null, so any JSON reader accepts it)."""
    Path(path).write_text(json.dumps(_nan_to_none(metrics), indent=2) + "\n")


def write_plots(
    metrics: Mapping[str, Any], predictions: pd.DataFrame, *, scatter: PathLikeStr, per_type: PathLikeStr
) -> None:
    """Predicted vs target on the test rows of every split, and SRCC per distortion type."""
    test = predictions[predictions["subset"] == "test"]
    title = f"{metrics['method']} on {metrics['dataset']}: NR ridge, test rows of {metrics['n_splits']} splits"
    plot_scatter(
        test["prediction"],
        test["target"],
        scatter,
        title=title,
        xlabel=metrics["target"],
        ylabel="predicted " + metrics["target"],
        hue=list(test["dist_type"]),
    )
    per_type_srcc = metrics["nr_ridge"].get("srcc_per_type") or {"all": metrics["nr_ridge"]["srcc_median"]}
    plot_bars(per_type_srcc, per_type, title=f"{metrics['method']} on {metrics['dataset']}: SRCC per type")


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_nan_to_none(v) for v in value]
    if isinstance(value, np.generic):
        return _nan_to_none(value.item())
    return value


def evaluate_from_files(
    method: str, inputs: Mapping[str, str], outputs: Mapping[str, str], *, fr_distance: str = "l2"
) -> dict[str, Any]:
    """The evaluate stage on workflow files: build, write and plot the metrics of ``method``.

    ``inputs`` holds ``table``, ``splits``, ``fr_scores`` and ``{model,baseline}_{features,predictions}``;
    ``outputs`` holds ``metrics``, ``scatter`` and ``per_type``.
    """

    def outputs_of(role: str) -> ModelOutputs:
        return ModelOutputs(
            store=read_feature_store(inputs[f"{role}_features"]),
            predictions=pd.read_csv(inputs[f"{role}_predictions"]),
        )

    model = outputs_of("model")
    fr_scores = pd.read_csv(inputs["fr_scores"])
    metrics = build_metrics(
        method=method,
        table=read_table(inputs["table"]),
        splits=splits_from_json(inputs["splits"]),
        model=model,
        baselines={"random_init": outputs_of("baseline")},
        fr_scores=fr_scores if len(fr_scores) else None,
        fr_distance=fr_distance,
    )
    write_metrics(metrics, outputs["metrics"])
    write_plots(metrics, model.predictions, scatter=outputs["scatter"], per_type=outputs["per_type"])
    return metrics
