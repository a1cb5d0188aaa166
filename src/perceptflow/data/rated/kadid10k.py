"""KADID-10k (Lin, Hosu and Saupe, QoMEX 2019).

Official layout: ``dmos.csv`` (columns ``dist_img``, ``ref_img``, ``dmos``, ``var``) and ``images/`` holding the 81
references (``I01.png``) and the 10,125 distorted images (``I01_01_01.png``: reference, type 1..25, level 1..5).
Its ``dmos`` is an opinion score on a 1..5 scale: higher = better.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from perceptflow.data.datasets import DatasetTable
from perceptflow.data.rated.layout import Counts, FileIndex, LayoutError, build_table, check_counts, require

KIND = "kadid10k"
SCORES = "dmos.csv"
FULL = Counts(images=10125, refs=81)


def load_kadid10k(root: Path, name: str = KIND) -> DatasetTable:
    """KADID-10k from its unpacked folder (``path:``); target ``dmos`` (higher is better).

    Raises:
        LayoutError: a missing file, or ``dmos.csv`` without its columns.
    """
    scores_path = require(root, KIND, SCORES, "images")[0]
    frame = pd.read_csv(scores_path)
    missing = [c for c in ("dist_img", "ref_img", "dmos") if c not in frame.columns]
    if missing:
        raise LayoutError(f"{KIND}: {scores_path} lacks column(s) {missing}; found {list(frame.columns)}")
    images = FileIndex(root / "images", KIND)
    rows = [
        {
            "image_id": dist,
            "path": images.get(dist, listed_in=scores_path),
            "ref_id": Path(ref).stem,
            "ref_path": images.get(ref, listed_in=scores_path),
            "target": dmos,
            "dist_type": f"type_{Path(dist).stem.split('_')[1]}" if dist.count("_") == 2 else "unknown",
        }
        for dist, ref, dmos in frame[["dist_img", "ref_img", "dmos"]].itertuples(index=False)
    ]
    table = build_table(name, rows, target_name="dmos", higher_is_better=True, source=scores_path)
    check_counts(KIND, scores_path, table.frame, FULL, full=images.n_images() >= FULL.images + FULL.refs)
    return table
