"""Entry points of the distortions rules, each named after its rule (scripts/<rule>.py calls it)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from perceptflow.distortions.bank import bank_spec, collect_references, generate_bank, prepare_references
from perceptflow.types import PathLikeStr

log = logging.getLogger(__name__)


def distort_references(
    params: Mapping[str, Any], *, out_dir: PathLikeStr, manifest_path: PathLikeStr, threads: int = 1
) -> pd.DataFrame:
    """The distort stage from its config section: generate the bank and write the manifest CSV."""
    spec = bank_spec(params)
    manifest = generate_bank(collect_references(params["references"]), spec, out_dir=out_dir, threads=threads)
    manifest.to_csv(manifest_path, index=False)
    log.info("wrote %d images of %d references to %s", len(manifest), manifest["ref_id"].nunique(), out_dir)
    return manifest


def distort_gallery(params: Mapping[str, Any], *, out: PathLikeStr) -> Path:
    """The gallery of the ``distort`` section: one reference (``gallery.reference``, default the first) cropped
    as in the bank, under every configured type at all five levels; cells of ``gallery.size`` px.

    Raises:
        ValueError: ``distort.gallery.reference`` is not one of the configured references.
    """
    from perceptflow.distortions.gallery import save_gallery

    spec = bank_spec(params)
    references = collect_references(params["references"])
    gallery = dict(params.get("gallery") or {})
    ref_id = gallery.get("reference") or next(iter(references))
    if ref_id not in references:
        raise ValueError(f"distort.gallery.reference {ref_id!r} is not a configured reference; valid: "
                         f"{', '.join(references)}")  # fmt: skip
    image = prepare_references({ref_id: references[ref_id]}, spec)[ref_id]
    return save_gallery(image, out, size=int(gallery.get("size", 128)), types=spec.types, seed=spec.seed,
                        scheme=spec.scheme, ref_id=ref_id)  # fmt: skip
