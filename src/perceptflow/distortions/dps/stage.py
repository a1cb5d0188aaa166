"""Entry points of the DPS distortions rules, each named after its rule (scripts/<rule>.py calls it)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from perceptflow.distortions.dps.triplets import DpsSpec, generate_triplets, reference_patches
from perceptflow.types import PathLikeStr

log = logging.getLogger(__name__)


def distort_dps_triplets(
    params: Mapping[str, Any],
    *,
    manifest: PathLikeStr,
    out_dir: PathLikeStr,
    csv_path: PathLikeStr,
    threads: int = 1,
) -> pd.DataFrame:
    """The ``distort_dps_triplets`` rule: triplets from the bank's references; writes the CSV beside ``out_dir``.

    Paths in the CSV are relative to the CSV's folder.
    """
    spec = DpsSpec.from_config(params)
    csv_path = Path(csv_path)
    table = generate_triplets(reference_patches(manifest), spec, out_dir=out_dir, root=csv_path.parent, threads=threads)
    table.to_csv(csv_path, index=False)
    log.info("wrote %d DPS triplets (%d contexts) to %s", len(table), spec.rankings, csv_path)
    return table
