"""PIPAL, public training part (Jinjin et al., ECCV 2020; NTIRE 2021 perceptual IQA challenge).

Official layout: ``Train_Ref/`` (200 references, ``A0001.bmp``), ``Train_Dis/`` (23,200 images,
``A0001_<type>_<index>.bmp``) and ``Train_Label/`` (one ``<ref>.txt`` per reference, lines ``<image>,<elo>``).
Elo scores: higher = better. The distortion type is the file name's ``<type>`` field.
"""

from __future__ import annotations

from pathlib import Path

from perceptflow.data.datasets import DatasetTable
from perceptflow.data.rated.layout import Counts, FileIndex, LayoutError, build_table, check_counts, require

KIND = "pipal"
FULL = Counts(images=23200, refs=200)


def load_pipal(root: Path, name: str = KIND) -> DatasetTable:
    """PIPAL's training part from its unpacked folder (``path:``); target Elo (higher is better).

    Raises:
        LayoutError: a missing folder or file, an empty ``Train_Label/``, or a label line that is not
            ``<image>,<score>``.
    """
    labels = require(root, KIND, "Train_Ref", "Train_Dis", "Train_Label")[2]
    label_files = sorted(labels.glob("*.txt"))
    if not label_files:
        raise LayoutError(f"{KIND}: no label files (*.txt) in {labels}")
    refs, distorted = FileIndex(root / "Train_Ref", KIND), FileIndex(root / "Train_Dis", KIND)
    rows = []
    for label_file in label_files:
        ref_id = label_file.stem
        for number, line in enumerate(label_file.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            fields = [f.strip() for f in line.split(",")]
            if len(fields) != 2:
                raise LayoutError(f"{KIND}: {label_file} line {number} is not '<image>,<score>': {line!r}")
            parts = Path(fields[0]).stem.split("_")
            rows.append(
                {
                    "image_id": fields[0],
                    "path": distorted.get(fields[0], listed_in=label_file),
                    "ref_id": ref_id,
                    "ref_path": refs.get(f"{ref_id}.bmp", listed_in=label_file),
                    "target": fields[1],
                    "dist_type": f"type_{parts[1]}" if len(parts) == 3 else "unknown",
                }
            )
    table = build_table(name, rows, target_name="elo", higher_is_better=True, source=labels)
    check_counts(KIND, labels, table.frame, FULL, full=distorted.n_images() >= FULL.images)
    return table
