"""Entry point of the extract rule, named after it (scripts/extract_features.py calls it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from perceptflow.data.datasets import load_dataset
from perceptflow.features.extract import extract_dataset
from perceptflow.metric.export import DEFAULT_FR_LAYERS
from perceptflow.types import PathLikeStr


def extract_features(
    dataset: str,
    spec: Mapping[str, Any],
    extract_params: Mapping[str, Any],
    *,
    manifest: PathLikeStr | None,
    encoder: PathLikeStr,
    out: PathLikeStr,
    device: torch.device | None = None,
    threads: int = 1,
    partial_dir: PathLikeStr | None = None,
    code: str = "",
) -> dict[str, Any]:
    """Rule ``extract_features``: frozen two-scale features of every image of ``dataset`` into a Zarr store at
    ``out`` (its attributes record the extract and dataset settings); returns the store summary.

    The store is built chunk by chunk in ``partial_dir`` (outside the rule's outputs) and resumes there after a
    kill while the encoder, images, settings and ``code`` (the rule's code hash) are unchanged."""
    table = load_dataset(dataset, dict(spec), synthetic_manifest=manifest)
    return extract_dataset(
        table,
        encoder_path=encoder,
        out=out,
        batch_size=extract_params["batch_size"],
        device=device,
        threads=threads,
        partial_dir=partial_dir,
        resume_key={"code": code},
        attributes={"config": {"extract": dict(extract_params), "dataset": dict(spec)}},
        fr_layers=extract_params.get("fr_layers", DEFAULT_FR_LAYERS),
    )
