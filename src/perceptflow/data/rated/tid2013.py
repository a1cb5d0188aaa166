"""TID2013 (Ponomarenko et al., Signal Processing: Image Communication 30, 2015).

Official layout: ``mos_with_names.txt`` (lines ``<mos> <name>``, e.g. ``5.51429 i01_01_1.bmp``),
``distorted_images/`` (3000 images: 25 references x 24 types x 5 levels) and ``reference_images/`` (``I01.BMP`` ...).
File names differ in case across copies of the archive and are matched case-insensitively. MOS: higher = better.
"""

from __future__ import annotations

import re
from pathlib import Path

from perceptflow.data.datasets import DatasetTable
from perceptflow.data.rated.layout import Counts, FileIndex, LayoutError, build_table, check_counts, require

KIND = "tid2013"
SCORES = "mos_with_names.txt"
FULL = Counts(images=3000, refs=25)
NAME = re.compile(r"^i(\d+)_(\d+)_(\d+)\.bmp$", re.IGNORECASE)


def load_tid2013(root: Path, name: str = KIND) -> DatasetTable:
    """TID2013 from its unpacked folder (``path:``); target MOS (higher is better).

    Raises:
        LayoutError: a missing file, or a line of the score file that is not ``<mos> i<ref>_<type>_<level>.bmp``.
    """
    scores_path = require(root, KIND, SCORES, "distorted_images", "reference_images")[0]
    distorted = FileIndex(root / "distorted_images", KIND)
    refs = FileIndex(root / "reference_images", KIND)
    rows = []
    for number, line in enumerate(scores_path.read_text(encoding="latin-1").splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split()
        match = NAME.match(fields[-1]) if len(fields) == 2 else None
        if match is None:
            raise LayoutError(f"{KIND}: {scores_path} line {number} is not '<mos> i<ref>_<type>_<level>.bmp': {line!r}")
        ref, dist_type = match.group(1), match.group(2)
        rows.append(
            {
                "image_id": fields[1].lower(),
                "path": distorted.get(fields[1], listed_in=scores_path),
                "ref_id": f"i{ref}",
                "ref_path": refs.get(f"i{ref}.bmp", listed_in=scores_path),
                "target": fields[0],
                "dist_type": f"type_{dist_type}",
            }
        )
    table = build_table(name, rows, target_name="mos", higher_is_better=True, source=scores_path)
    check_counts(KIND, scores_path, table.frame, FULL, full=distorted.n_images() >= FULL.images)
    return table
