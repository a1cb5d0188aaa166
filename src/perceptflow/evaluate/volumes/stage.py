"""3D evaluation: severity regression, full-reference scores and 2AFC by severity on volumes, beside baselines.

Protocol (docs/medical.md):

- **NR ridge, leave-one-volume-out.** Each source volume (``ref_id``) is a group; split ``g`` tests on volume ``g``,
  validates (picks ridge's alpha) on the next volume in sorted order and trains on the rest. With two volumes there
  is no validation volume and ridge takes the largest alpha of the grid.
- **FR zero-shot.** Distance between a volume's features and its reference's (``evaluate.fr_distance``); SRCC over all
  volumes, the median over the leave-one-volume-out test volumes, and per artefact type.
- **2AFC by severity.** Every pair of degraded versions of the same source volume with the same artefact and different
  targets: the better one (lower level) should be the closer to the reference. Score = fraction of pairs agreeing,
  ties 0.5 (:func:`perceptflow.evaluate.twoafc.score_2afc` with every judgement on the better one).
- **Baselines** on the same volumes: NRMSE, PSNR (data range 1) and 3D SSIM (7^3 window) get the FR SRCC, per-artefact
  SRCC and 2AFC; a random-init encoder gets everything an encoder gets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from skimage.metrics import peak_signal_noise_ratio

from perceptflow.data.datasets import DatasetTable, read_table, save_table
from perceptflow.data.volumes.datasets import load_volume_dataset, preprocess_config, read_volume_array
from perceptflow.data.volumes.nifti import NiftiConfig
from perceptflow.evaluate.correlation import orient
from perceptflow.evaluate.stage import comparison_rows, feature_distances, write_metrics
from perceptflow.evaluate.summary import summarize_nr, summarize_zero_shot
from perceptflow.evaluate.twoafc import score_2afc
from perceptflow.evaluate.volumes.plots import plot_volume_metrics
from perceptflow.features.store import FeatureStore, read_feature_store
from perceptflow.measures import nrmse, ssim3d
from perceptflow.regress.ridge import fit_ridge_on_splits
from perceptflow.regress.splits import Split
from perceptflow.types import PathLikeStr

#: Classic full-reference baselines on volumes and whether higher means better quality.
VOLUME_BASELINES: dict[str, bool] = {"nrmse": False, "psnr": True, "ssim3d": True}
SPLIT_PROTOCOL = "leave-one-volume-out"
#: Name of the random-init encoder among the baselines.
RANDOM_INIT = "random_init"


def volume_fr_scores(reference: np.ndarray, distorted: np.ndarray) -> dict[str, float]:
    """NRMSE, PSNR (dB, data range 1; inf when identical) and 3D SSIM of one volume against its reference."""
    if reference.shape != distorted.shape:
        raise ValueError(f"reference shape {reference.shape} differs from distorted shape {distorted.shape}")
    with np.errstate(divide="ignore"):
        psnr = peak_signal_noise_ratio(reference.astype(np.float64), distorted.astype(np.float64), data_range=1.0)
    return {"nrmse": nrmse(reference, distorted), "psnr": float(psnr), "ssim3d": ssim3d(reference, distorted)}


def volume_baseline_scores(
    table: DatasetTable, *, preprocess: NiftiConfig | None = None, threads: int = 1
) -> pd.DataFrame:
    """``image_id`` and the :data:`VOLUME_BASELINES` columns for every row of ``table`` (needs references).

    Raises:
        ValueError: the table has rows without a reference volume; a pair differs in shape (naming the files).
    """
    if not table.has_references:
        raise ValueError(f"dataset {table.name!r}: full-reference baselines need a reference volume for every row")
    reference = lru_cache(maxsize=8)(lambda path: read_volume_array(path, preprocess))

    def score(pair: tuple[str, str]) -> dict[str, float]:
        ref_path, path = pair
        try:
            return volume_fr_scores(reference(ref_path), read_volume_array(path, preprocess))
        except ValueError as error:
            raise ValueError(f"{path} vs {ref_path}: {error}") from error

    pairs = list(zip(table.frame["ref_path"], table.frame["path"], strict=True))
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        rows = list(pool.map(score, pairs))
    return pd.DataFrame(rows, columns=list(VOLUME_BASELINES)).assign(image_id=table.frame["image_id"].to_numpy())


def leave_one_volume_out(groups: Iterable[object]) -> list[Split]:
    """One split per source volume (sorted): test = that volume, val = the next one (cyclic), train = the rest.

    Raises:
        ValueError: fewer than two distinct volumes.
    """
    labels = np.asarray([str(g) for g in groups])
    names = np.unique(labels)
    if names.size < 2:
        raise ValueError(f"leave-one-volume-out needs at least 2 source volumes, got {names.size}: {names.tolist()}")
    splits = []
    for index, name in enumerate(names):
        val = {names[(index + 1) % names.size]} if names.size >= 3 else set()
        rows = {
            "test": np.flatnonzero(labels == name),
            "val": np.flatnonzero(np.isin(labels, list(val))),
            "train": np.flatnonzero(~np.isin(labels, [name, *val])),
        }
        splits.append(Split(index=index, **{k: v.astype(np.int64) for k, v in rows.items()}))
    return splits


def severity_pairs(table: DatasetTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row pairs ``(better, worse, artefact)``: same ``ref_id`` and ``dist_type``, different targets."""
    quality = orient(table.frame["target"].to_numpy(dtype=float), table.higher_is_better)
    better, worse = [], []
    for _, rows in table.frame.groupby(["ref_id", "dist_type"], sort=True).indices.items():
        for position, i in enumerate(rows):
            for j in rows[position + 1 :]:
                if quality[i] != quality[j]:
                    better.append(i if quality[i] > quality[j] else j)
                    worse.append(j if quality[i] > quality[j] else i)
    better_rows, worse_rows = np.asarray(better, dtype=np.int64), np.asarray(worse, dtype=np.int64)
    return better_rows, worse_rows, table.frame["dist_type"].to_numpy(dtype=str)[better_rows]


def twoafc_by_severity(distances: np.ndarray, table: DatasetTable) -> dict[str, Any]:
    """2AFC score of a distance to the reference (lower = closer): overall, per artefact, and the pair count."""
    better, worse, types = severity_pairs(table)
    if better.size == 0:
        return {"skipped": f"dataset {table.name!r} has no pair of one volume and artefact at different targets"}
    distances = np.asarray(distances, dtype=np.float64)
    per_type = {
        str(t): score_2afc(distances[better[types == t]], distances[worse[types == t]], np.zeros((types == t).sum()))
        for t in np.unique(types)
    }
    return {
        "score": score_2afc(distances[better], distances[worse], np.zeros(better.size)),
        "n_pairs": int(better.size),
        "per_type": per_type,
    }


def fr_summary(scores: np.ndarray, higher_is_better: bool, table: DatasetTable, splits: list[Split]) -> dict:
    """``fr_zero_shot`` (SRCC overall, per test volume, per artefact) and ``twoafc`` of one full-reference score."""
    scores = np.asarray(scores, dtype=np.float64)
    return {
        "fr_zero_shot": summarize_zero_shot(
            scores,
            table.frame["target"].to_numpy(dtype=float),
            score_higher_is_better=higher_is_better,
            target_higher_is_better=table.higher_is_better,
            splits=splits,
            types=table.frame["dist_type"].to_numpy(),
        ),
        "twoafc": twoafc_by_severity(scores if not higher_is_better else -scores, table),
    }


def encoder_summary(
    store: FeatureStore,
    table: DatasetTable,
    splits: list[Split],
    *,
    alphas: list[float],
    fr_distance: str = "l2",
) -> tuple[dict[str, Any], pd.DataFrame]:
    """NR ridge on the splits plus the FR summary of the feature distance; returns it and the ridge predictions."""
    missing = sorted(set(table.frame["image_id"]) - set(store.image_ids))
    if missing:
        raise ValueError(
            f"feature store has no features for {len(missing)} volumes of {table.name!r}, e.g. {missing[0]}"
        )
    order = {image_id: row for row, image_id in enumerate(store.image_ids)}
    features = store.features[[order[i] for i in table.frame["image_id"]]]
    aligned = FeatureStore(features, table.frame["image_id"].to_numpy(dtype=str), store.ref_features, store.ref_ids)
    ridge = fit_ridge_on_splits(features, table.frame["target"].to_numpy(dtype=float), splits, alphas)
    summary = {"nr_ridge": summarize_nr(ridge.predictions, types=table.frame["dist_type"])}
    distances = feature_distances(aligned, table, fr_distance)
    if distances is None:
        raise ValueError(f"dataset {table.name!r}: 3D evaluation needs references for the feature distance")
    summary.update(fr_summary(distances, False, table, splits))
    return summary, ridge.predictions


def build_volume_metrics(
    *,
    method: str,
    table: DatasetTable,
    model: FeatureStore,
    baselines: Mapping[str, FeatureStore],
    fr_scores: pd.DataFrame,
    alphas: list[float],
    fr_distance: str = "l2",
) -> tuple[dict[str, Any], pd.DataFrame]:
    """The content of a 3D ``metrics.json`` and the method's ridge predictions (with ``image_id``, ``dist_type``)."""
    splits = leave_one_volume_out(table.frame["ref_id"])
    summary, predictions = encoder_summary(model, table, splits, alphas=alphas, fr_distance=fr_distance)
    metrics: dict[str, Any] = {
        "dataset": table.name,
        "method": method,
        "domain": "volumes",
        "target": table.target_name,
        "higher_is_better": table.higher_is_better,
        "n_volumes": len(table.frame),
        "n_refs": table.n_refs,
        "n_splits": len(splits),
        "split_protocol": SPLIT_PROTOCOL,
        "fr_distance": fr_distance,
        **summary,
        "baselines": {
            name: encoder_summary(store, table, splits, alphas=alphas, fr_distance=fr_distance)[0]
            for name, store in baselines.items()
        },
    }
    scores = fr_scores.set_index("image_id").loc[table.frame["image_id"]]
    for name, higher_is_better in VOLUME_BASELINES.items():
        metrics["baselines"][name] = fr_summary(scores[name].to_numpy(), higher_is_better, table, splits)
    metrics["table"] = volume_table_rows(metrics)
    frame = table.frame.reset_index(drop=True)
    predictions = predictions.assign(
        image_id=frame["image_id"].to_numpy()[predictions["row"]],
        dist_type=frame["dist_type"].to_numpy()[predictions["row"]],
    )
    return metrics, predictions


def volume_table_rows(metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The report's rows: ``nr_ridge`` and ``fr_zero_shot`` as for 2D, plus one ``2afc`` row per model."""
    rows = comparison_rows(metrics)
    models = {metrics["method"]: metrics, **metrics["baselines"]}
    for model, summary in models.items():
        twoafc = summary.get("twoafc") or {}
        if "score" in twoafc:
            rows.append({"dataset": metrics["dataset"], "model": model, "mode": "2afc", "2afc": twoafc["score"]})
    return rows


def evaluate_volumes(
    method: str,
    inputs: Mapping[str, str],
    outputs: Mapping[str, str],
    *,
    alphas: list[float],
    fr_distance: str = "l2",
) -> dict[str, Any]:
    """The 3D evaluate stage on workflow files.

    ``inputs``: ``table`` (CSV of :func:`perceptflow.data.save_table`), ``model_features``, ``baseline_features``
    (random init) and ``fr_scores``; ``outputs``: ``metrics``, ``predictions`` and ``plot``.
    """
    metrics, predictions = build_volume_metrics(
        method=method,
        table=read_table(inputs["table"]),
        model=read_feature_store(inputs["model_features"]),
        baselines={RANDOM_INIT: read_feature_store(inputs["baseline_features"])},
        fr_scores=pd.read_csv(inputs["fr_scores"]),
        alphas=alphas,
        fr_distance=fr_distance,
    )
    write_metrics(metrics, outputs["metrics"])
    predictions.to_csv(outputs["predictions"], index=False)
    plot_volume_metrics(metrics, outputs["plot"])
    return metrics


def evaluate_volume_baselines(
    dataset: str,
    spec: Mapping[str, Any],
    preprocess_params: Mapping[str, Any],
    *,
    manifest: PathLikeStr | None,
    table_out: PathLikeStr,
    scores_out: PathLikeStr,
    threads: int = 1,
) -> tuple[DatasetTable, pd.DataFrame]:
    """Rule ``evaluate_volume_baselines``: the 3D dataset's table and NRMSE, PSNR and 3D SSIM of every volume."""
    table = load_volume_dataset(dataset, spec, synthetic_manifest=manifest)
    save_table(table, table_out)
    scores = volume_baseline_scores(
        table, preprocess=preprocess_config(dataset, spec, preprocess_params), threads=threads
    )
    scores.to_csv(scores_out, index=False)
    return table, scores
