"""KonIQ-10k (Hosu et al., IEEE TIP 29, 2020): authentic distortions, no references (no-reference scores only).

Official layout: ``koniq10k_scores_and_distributions.csv`` (columns ``image_name``, ``MOS``, ...) and the images
in ``1024x768/`` (10,073). Each image is its own content group. MOS (1..5): higher = better.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from perceptflow.data.datasets import DatasetTable
from perceptflow.data.rated.layout import Counts, FileIndex, LayoutError, build_table, check_counts, require

KIND = "koniq10k"
SCORES = "koniq10k_scores_and_distributions.csv"
IMAGES = "1024x768"
FULL = Counts(images=10073, refs=10073)


def load_koniq10k(root: Path, name: str = KIND) -> DatasetTable:
    """KonIQ-10k from its unpacked folder (``path:``); target MOS (higher is better), no reference paths.

    Raises:
        LayoutError: a missing file, or the score CSV without ``image_name`` and ``MOS``.
    """
    scores_path = require(root, KIND, SCORES, IMAGES)[0]
    frame = pd.read_csv(scores_path)
    missing = [c for c in ("image_name", "MOS") if c not in frame.columns]
    if missing:
        raise LayoutError(f"{KIND}: {scores_path} lacks column(s) {missing}; found {list(frame.columns)}")
    images = FileIndex(root / IMAGES, KIND)
    rows = [
        {
            "image_id": image,
            "path": images.get(image, listed_in=scores_path),
            "ref_id": Path(image).stem,
            "ref_path": None,
            "target": mos,
            "dist_type": "authentic",
        }
        for image, mos in frame[["image_name", "MOS"]].itertuples(index=False)
    ]
    table = build_table(name, rows, target_name="mos", higher_is_better=True, source=scores_path)
    check_counts(KIND, scores_path, table.frame, FULL, full=images.n_images() >= FULL.images)
    return table
