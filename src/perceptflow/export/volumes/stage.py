"""Entry point of the ``export_volume_metric`` rule: one 3D metric file per (volume encoder, target).

``target`` is ``fr`` (the feature distance alone) or a 3D dataset, whose file adds the NR head: ridge on all its
volumes' features (the 3D extract store), alpha chosen over the leave-one-volume-out splits `evaluate_volumes` uses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perceptflow.data.volumes.datasets import preprocess_config
from perceptflow.evaluate.volumes.stage import leave_one_volume_out
from perceptflow.export.nr_head import fit_nr_head
from perceptflow.export.provenance import encoder_record, file_sha256, plain_provenance
from perceptflow.features.store import FeatureStore, read_feature_store
from perceptflow.metric.file import save_metric_file
from perceptflow.metric.volumes import volume_metric_payload
from perceptflow.models.volumes import load_volume_encoder
from perceptflow.models.volumes.windows import WindowSpec
from perceptflow.types import PathLikeStr


def export_volume_metric(
    encoder: PathLikeStr,
    *,
    out: PathLikeStr,
    extract_params: Mapping[str, Any],
    preprocess_params: Mapping[str, Any],
    fr_distance: str = "l2",
    dataset: str | None = None,
    features: PathLikeStr | None = None,
    table: PathLikeStr | None = None,
    alphas: Sequence[float] = (),
    provenance: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Rule ``export_volume_metric``: write a ``perceptflow.metric/1`` file of modality ``3d`` to ``out``.

    The file's input contract is ``volumes.preprocess`` (how users' NIfTI files are read) and ``volumes.extract``
    (the sliding windows). With ``dataset`` (and its 3D extract store ``features`` and evaluate ``table``), it also
    holds that dataset's NR head. Returns a summary.
    """
    from perceptflow.data.datasets import read_table

    model, payload = load_volume_encoder(encoder)
    record = encoder_record(encoder, payload, provenance)
    nr = None
    if dataset is not None:
        if features is None or table is None:
            raise ValueError(f"an NR head for {dataset!r} needs the 3D features store and the evaluate table")
        rated = read_table(table)
        nr = fit_nr_head(
            _table_rows(read_feature_store(features), rated.frame["image_id"], features),
            rated.frame["target"].to_numpy(dtype=float),
            leave_one_volume_out(rated.frame["ref_id"]),
            alphas=alphas,
            dataset=dataset,
            target=rated.target_name,
            higher_is_better=rated.higher_is_better,
        )
        record["table_sha256"] = file_sha256(table)
    metric = volume_metric_payload(
        model,
        method=payload["method"],
        window=WindowSpec.from_config(extract_params),
        preprocess=preprocess_config("export", {"kind": "csv"}, preprocess_params),
        distance=fr_distance,
        nr=nr,
        provenance=plain_provenance(record),
    )
    save_metric_file(metric, out)
    summary = {"path": str(Path(out)), "method": payload["method"], "fr_distance": fr_distance}
    if nr is not None:
        summary.update({f"nr_{k}": nr[k] for k in ("dataset", "alpha", "n_rows", "higher_is_better")})
    return summary


def _table_rows(store: FeatureStore, image_ids: pd.Series, where: PathLikeStr) -> np.ndarray:
    """The store's feature rows in the table's order (3D stores are keyed by ``image_id``)."""
    order = {image_id: row for row, image_id in enumerate(store.image_ids)}
    missing = sorted(set(image_ids) - set(order))
    if missing:
        raise ValueError(f"{where}: no features for {len(missing)} volumes of the table, e.g. {missing[0]}")
    return np.asarray(store.features[[order[i] for i in image_ids]], dtype=np.float64)
