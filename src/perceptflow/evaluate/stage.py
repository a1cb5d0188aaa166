"""The evaluate stage: NR ridge and FR zero-shot metrics for one encoder on one dataset, beside baselines.

Every ``metrics.json`` carries baseline rows computed on the same splits: PSNR and SSIM (scikit-image), MS-SSIM,
VIF-p, FSIM and GMSD (piq; a metric the images are too small for is a recorded skip) and a random-init encoder of
the same architecture (features + ridge), so what training adds is visible in every result.
"""

# Over 300 lines: evaluate_fr_baselines, evaluate_metrics and report_summary share the rows, splits and baselines.

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perceptflow.data.datasets import DatasetTable, read_table
from perceptflow.evaluate.comparison import comparison_table, plot_comparison
from perceptflow.evaluate.fr_piq import PIQ_METRICS
from perceptflow.evaluate.full_reference import full_reference_baselines
from perceptflow.evaluate.plots import plot_bars, plot_scatter
from perceptflow.evaluate.summary import summarize_nr, summarize_zero_shot
from perceptflow.features.fr import read_fr_values
from perceptflow.features.store import FeatureStore, LazyFeatureStore, ReferenceDifferences, open_feature_store
from perceptflow.regress.ridge import fit_ridge_on_splits
from perceptflow.regress.splits import Split, splits_from_json
from perceptflow.types import PathLikeStr

#: Full-reference baselines in every table, with whether a lower value means more similar.
FR_BASELINES: dict[str, bool] = {
    "psnr": False,
    "ssim": False,
    **{name: spec.lower_better for name, spec in PIQ_METRICS.items()},
}
#: Summary columns copied into the flat comparison table.
TABLE_KEYS = ("srcc", "plcc", "plcc_logistic", "krcc", "rmse")


@dataclass(frozen=True)
class ModelOutputs:
    """What one encoder produced for a dataset: its feature store and its ridge predictions."""

    store: FeatureStore | LazyFeatureStore
    predictions: pd.DataFrame
    fr: Mapping[str, np.ndarray] = field(default_factory=dict)


FR_DISTANCES = ("l2", "l1", "cosine")
#: Feature rows read at a time by `feature_distances` (16 MiB of float32 at D = 1024).
DISTANCE_ROWS = 4096
#: Modes of the comparison table's rows per model; ridge modes report medians over the splits' test rows.
MODES = ("nr_ridge", "fr_zero_shot", "fr_lpips", "contrique_fr_ridge")
RIDGE_MODES = ("nr_ridge", "contrique_fr_ridge")


def feature_distances(
    store: FeatureStore | LazyFeatureStore, table: DatasetTable, metric: str = "l2"
) -> np.ndarray | None:
    """Full-reference zero-shot score: distance between an image's features and its reference's.

    ``metric`` is ``l2`` (Euclidean), ``l1`` (sum of CONTRIQUE-FR's |f_ref - f|) or ``cosine`` (1 - cosine
    similarity). Feature rows are read :data:`DISTANCE_ROWS` at a time, so a store on disk is never loaded
    whole. None when the dataset has no references.
    """
    if metric not in FR_DISTANCES:
        raise ValueError(f"evaluate.fr_distance must be one of {FR_DISTANCES}, got {metric!r}")
    if not table.has_references:
        return None
    ref_ids = list(table.frame["ref_id"])
    store.reference_rows(sorted(set(ref_ids)))  # a missing reference fails before any row is read
    parts = []
    for start in range(0, len(ref_ids), DISTANCE_ROWS):
        rows = np.asarray(store.features[start : start + DISTANCE_ROWS], dtype=np.float32)
        parts.append(_distances(rows, store.reference_rows(ref_ids[start : start + DISTANCE_ROWS]), metric))
    return np.concatenate(parts) if parts else np.empty(0)


def _distances(features: np.ndarray, refs: np.ndarray, metric: str) -> np.ndarray:
    if metric == "l1":
        return np.abs(features - refs).sum(axis=1)
    if metric == "cosine":
        dot = (features * refs).sum(axis=1)
        norms = np.linalg.norm(features, axis=1) * np.linalg.norm(refs, axis=1)
        return 1.0 - dot / np.maximum(norms, 1e-12)
    return np.linalg.norm(features - refs, axis=1)


def compute_fr_baselines(table: DatasetTable, *, threads: int = 1) -> tuple[pd.DataFrame | None, dict[str, str]]:
    """Every :data:`FR_BASELINES` score of each (reference, image) pair, and the metrics skipped with their reason
    (images below a piq metric's minimum size); ``(None, {})`` when the dataset has no references."""
    if not table.has_references:
        return None, {}
    from perceptflow.evaluate.fr_piq import piq_baselines

    refs, dists = list(table.frame["ref_path"]), list(table.frame["path"])
    classic = full_reference_baselines(refs, dists, threads=threads)
    learned, skipped = piq_baselines(refs, dists, threads=threads)
    scores = pd.concat([classic, learned], axis=1)
    return scores.assign(image_id=table.frame["image_id"].to_numpy()), skipped


def model_summary(
    outputs: ModelOutputs,
    table: DatasetTable,
    splits: list[Split],
    *,
    fr_distance: str = "l2",
    alphas: Sequence[float] | None = None,
) -> dict[str, Any]:
    """``nr_ridge`` and ``fr_zero_shot`` summaries of one encoder, plus ``fr_lpips`` when its store holds
    ``fr/lpips`` and ``contrique_fr_ridge`` when ``alphas`` are given (`full_reference_rows`)."""
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
        summary.update(full_reference_rows(outputs, table, splits, alphas=alphas))
    return summary


def full_reference_rows(
    outputs: ModelOutputs, table: DatasetTable, splits: list[Split], *, alphas: Sequence[float] | None
) -> dict[str, Any]:
    """``fr_lpips``: the LPIPS-style distance stored by extract, zero-shot; ``contrique_fr_ridge``: ridge on
    |f_ref - f_dist| (CONTRIQUE's FR regressor, Madhusudana et al., IEEE TIP 2022) on the same content splits."""
    rows: dict[str, Any] = {}
    types = table.frame["dist_type"]
    if "lpips" in outputs.fr:
        rows["fr_lpips"] = summarize_zero_shot(
            outputs.fr["lpips"],
            table.frame["target"].to_numpy(dtype=float),
            score_higher_is_better=False,
            target_higher_is_better=table.higher_is_better,
            splits=splits,
            types=types.to_numpy(),
        )
    if alphas is not None:
        diff = ReferenceDifferences(outputs.store, list(table.frame["ref_id"]))  # read in blocks, never whole
        result = fit_ridge_on_splits(diff, table.frame["target"].to_numpy(dtype=float), splits, alphas)
        rows["contrique_fr_ridge"] = summarize_nr(result.predictions, types=types)
    return rows


def build_metrics(
    *,
    method: str,
    table: DatasetTable,
    splits: list[Split],
    model: ModelOutputs,
    baselines: Mapping[str, ModelOutputs],
    fr_scores: pd.DataFrame | None,
    fr_distance: str = "l2",
    fr_skips: Mapping[str, str] | None = None,
    alphas: Sequence[float] | None = None,
) -> dict[str, Any]:
    """The content of ``metrics.json`` for ``method`` on ``table``, with baseline rows on the same splits.

    ``fr_skips`` names the FR baselines skipped for this dataset with their reason (recorded in place of a score).
    """
    metrics: dict[str, Any] = {
        "dataset": table.name,
        "method": method,
        "target": table.target_name,
        "higher_is_better": table.higher_is_better,
        "n_images": len(table.frame),
        "n_refs": table.n_refs,
        "n_splits": len(splits),
        "fr_distance": fr_distance,
        **model_summary(model, table, splits, fr_distance=fr_distance, alphas=alphas),
        "baselines": {
            name: model_summary(out, table, splits, fr_distance=fr_distance, alphas=alphas)
            for name, out in baselines.items()
        },
    }
    targets = table.frame["target"].to_numpy(dtype=float)
    for name, lower_better in FR_BASELINES.items():
        if fr_scores is None:
            metrics["baselines"][name] = {"fr_zero_shot": {"skipped": "dataset lists no reference images"}}
            continue
        if name in (fr_skips or {}) or name not in fr_scores.columns:
            reason = (fr_skips or {}).get(name, "not computed for this dataset (rerun evaluate_fr_baselines)")
            metrics["baselines"][name] = {"fr_zero_shot": {"skipped": reason}}
            continue
        metrics["baselines"][name] = {
            "fr_zero_shot": summarize_zero_shot(
                fr_scores[name].to_numpy(dtype=float),
                targets,
                score_higher_is_better=not lower_better,
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
        for mode in MODES:
            block = summary.get(mode)
            if not block or "skipped" in block:
                continue
            suffix = "_median" if mode in RIDGE_MODES else ""
            row = {"dataset": metrics["dataset"], "model": model, "mode": mode}
            row.update({key: block.get(f"{key}{suffix}") for key in TABLE_KEYS if f"{key}{suffix}" in block})
            if mode not in RIDGE_MODES and "srcc_median" in block:
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


def evaluate_metrics(
    method: str,
    inputs: Mapping[str, str],
    outputs: Mapping[str, str],
    *,
    fr_distance: str = "l2",
    alphas: Sequence[float] | None = None,
) -> dict[str, Any]:
    """The evaluate stage on workflow files: build, write and plot the metrics of ``method``.

    ``inputs`` holds ``table``, ``splits``, ``fr_scores``, optional ``fr_skips`` and
    ``{model,baseline}_{features,predictions}``;
    ``outputs`` holds ``metrics``, ``scatter`` and ``per_type``.
    """

    def outputs_of(role: str) -> ModelOutputs:
        return ModelOutputs(
            store=open_feature_store(inputs[f"{role}_features"]),
            predictions=pd.read_csv(inputs[f"{role}_predictions"]),
            fr=read_fr_values(inputs[f"{role}_features"]),
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
        fr_skips=json.loads(Path(inputs["fr_skips"]).read_text()) if "fr_skips" in inputs else None,
        alphas=alphas,
    )
    write_metrics(metrics, outputs["metrics"])
    write_plots(metrics, model.predictions, scatter=outputs["scatter"], per_type=outputs["per_type"])
    return metrics


def report_summary(
    metrics_files: Sequence[PathLikeStr],
    *,
    table_out: PathLikeStr,
    plot_out: PathLikeStr,
    twoafc_files: Sequence[PathLikeStr] = (),
) -> pd.DataFrame:
    """Write the comparison table (CSV) and plot (PNG); return the table."""
    table = comparison_table(metrics_files, twoafc_files)
    table.to_csv(table_out, index=False)
    plot_comparison(table, plot_out)
    return table


def evaluate_fr_baselines(
    table: PathLikeStr, *, scores_out: PathLikeStr, skips_out: PathLikeStr, threads: int = 1
) -> pd.DataFrame:
    """Rule ``evaluate_fr_baselines``: every :data:`FR_BASELINES` score of each (reference, image) pair of a dataset's
    table, written to ``scores_out``, and the skipped metrics with their reasons to ``skips_out`` (JSON); an empty
    table (the columns only) when the dataset has no references, which `evaluate_metrics` reports as a skip."""
    scores, skipped = compute_fr_baselines(read_table(table), threads=threads)
    if scores is None:
        scores = pd.DataFrame(columns=[*FR_BASELINES, "image_id"])
    scores.to_csv(scores_out, index=False)
    Path(skips_out).write_text(json.dumps(skipped, indent=2, sort_keys=True) + "\n")
    return scores
