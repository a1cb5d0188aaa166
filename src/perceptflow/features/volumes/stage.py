"""Entry point of the 3D extract rule, named after it (scripts/extract_volume_features.py calls it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from perceptflow.data.volumes.datasets import load_volume_dataset, preprocess_config
from perceptflow.features.volumes.extract import WindowSpec, extract_volume_dataset
from perceptflow.types import PathLikeStr


def extract_volume_features(
    dataset: str,
    spec: Mapping[str, Any],
    extract_params: Mapping[str, Any],
    preprocess_params: Mapping[str, Any],
    *,
    manifest: PathLikeStr | None,
    encoder: PathLikeStr,
    out: PathLikeStr,
    device: torch.device | None = None,
    threads: int = 1,
) -> dict[str, Any]:
    """Rule ``extract_volume_features``: sliding-window pooled features of every volume of ``dataset`` into a Zarr
    store at ``out``; returns the store summary."""
    table = load_volume_dataset(dataset, spec, synthetic_manifest=manifest)
    return extract_volume_dataset(
        table,
        encoder_path=encoder,
        out=out,
        spec=WindowSpec.from_config(extract_params),
        preprocess=preprocess_config(dataset, spec, preprocess_params),
        device=device,
        threads=threads,
        attributes={"config": {"extract": dict(extract_params), "dataset": dict(spec)}},
    )
