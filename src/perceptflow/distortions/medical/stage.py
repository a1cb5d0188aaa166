"""Entry points of the medical distortions (3D) rules, each named after its rule (scripts/<rule>.py calls it)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from perceptflow.data.volumes.nifti import NiftiReadError
from perceptflow.data.volumes.sources import collect_volume_sources
from perceptflow.distortions.medical.bank import (
    SKIPPED_COLUMNS,
    prepare_volumes,
    volume_bank_spec,
    write_volume_bank,
)
from perceptflow.types import PathLikeStr

log = logging.getLogger(__name__)


def distort_volumes(
    params: Mapping[str, Any],
    *,
    out_dir: PathLikeStr,
    manifest_path: PathLikeStr,
    skipped_path: PathLikeStr,
    threads: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The distort_volumes stage from the ``volumes`` config section; writes the manifest and ``skipped.csv``.

    Paths in the manifest are relative to its folder. Returns ``(manifest, skipped)``.
    """
    spec = volume_bank_spec(params)
    sources = collect_volume_sources(dict(params.get("references") or {"kind": "demo"}))
    skipped_path = Path(skipped_path)
    skipped_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        volumes, skipped = prepare_volumes(sources, spec.nifti, spec.on_error)
    except NiftiReadError:
        pd.DataFrame(columns=list(SKIPPED_COLUMNS)).to_csv(skipped_path, index=False)
        raise
    skipped.to_csv(skipped_path, index=False)
    manifest_path = Path(manifest_path)
    manifest = write_volume_bank(volumes, spec, out_dir=out_dir, root=manifest_path.parent, threads=threads)
    manifest.to_csv(manifest_path, index=False)
    log.info("wrote %d volumes of %d sources to %s (%d skipped)", len(manifest), len(volumes), out_dir, len(skipped))
    return manifest, skipped


def distort_volume_gallery(params: Mapping[str, Any], *, out: PathLikeStr) -> Path:
    """The 3D gallery: the first configured reference volume (preprocessed), every configured artefact, levels 1-5.

    Raises:
        NiftiReadError: no reference can be read (with ``on_error: skip``, the first readable one is drawn).
    """
    from perceptflow.distortions.medical.gallery import save_volume_gallery

    spec = volume_bank_spec(params)
    sources = collect_volume_sources(dict(params.get("references") or {"kind": "demo"}))
    for source_id, path in sources.items():
        try:
            volumes, _ = prepare_volumes({source_id: path}, spec.nifti, "raise")
        except NiftiReadError:
            if spec.on_error == "raise":
                raise
            continue
        volume_id, volume = next(iter(volumes.items()))
        return save_volume_gallery(volume.data, out, types=spec.artefacts, seed=spec.seed, volume_id=volume_id)
    raise NiftiReadError(f"no readable reference volume for the gallery among {list(sources.values())}")
