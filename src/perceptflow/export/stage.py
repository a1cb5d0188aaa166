"""Entry point of the ``export_metric`` rule: one metric file per (encoder, target).

``target`` is ``fr`` (the full-reference distance alone, `perceptflow.metric.export.metric_payload`) or a rated
dataset, whose file adds the NR head fitted on all its rows (`perceptflow.export.nr_head.fit_nr_head`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from perceptflow.data.datasets import read_table
from perceptflow.export.nr_head import fit_nr_head
from perceptflow.export.provenance import encoder_record, file_sha256, plain_provenance
from perceptflow.metric.export import DEFAULT_FR_LAYERS, metric_payload
from perceptflow.metric.file import save_metric_file
from perceptflow.models import load_encoder
from perceptflow.regress.splits import splits_from_json
from perceptflow.regress.stage import aligned_features
from perceptflow.types import PathLikeStr


def export_metric(
    encoder: PathLikeStr,
    *,
    out: PathLikeStr,
    fr_layers: Sequence[str] = DEFAULT_FR_LAYERS,
    dataset: str | None = None,
    features: PathLikeStr | None = None,
    table: PathLikeStr | None = None,
    splits: PathLikeStr | None = None,
    alphas: Sequence[float] = (),
    provenance: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Rule ``export_metric``: write a ``perceptflow.metric/1`` file to ``out``; returns its summary.

    Without ``dataset`` the file holds the FR distance only; with it (and the extract store ``features``, the
    regress ``table`` and ``splits``), also the NR ridge head of that dataset.
    """
    model, payload = load_encoder(encoder)
    record = encoder_record(encoder, payload, provenance)
    nr = None
    if dataset is not None:
        if features is None or table is None or splits is None:
            raise ValueError(f"an NR head for {dataset!r} needs the features store, the table and the splits")
        rated = read_table(table)
        nr = fit_nr_head(
            aligned_features(features, rated),
            rated.frame["target"].to_numpy(dtype=float),
            splits_from_json(splits),
            alphas=alphas,
            dataset=dataset,
            target=rated.target_name,
            higher_is_better=rated.higher_is_better,
        )
        record["table_sha256"] = file_sha256(table)
    metric = metric_payload(
        model, method=payload["method"], layers=fr_layers, nr=nr, provenance=plain_provenance(record)
    )
    save_metric_file(metric, out)
    summary = {"path": str(Path(out)), "method": payload["method"], "fr_layers": list(fr_layers)}
    if nr is not None:
        summary.update({f"nr_{k}": nr[k] for k in ("dataset", "alpha", "n_rows", "higher_is_better")})
    return summary
