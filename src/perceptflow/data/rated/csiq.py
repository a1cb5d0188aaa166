"""CSIQ (Larson and Chandler, J. Electronic Imaging 19(1), 2010).

Official layout: ``csiq.DMOS.xlsx`` (sheet ``all_by_image``: columns ``image``, ``dst_idx``, ``dst_type``,
``dst_lev``, ``dmos_std``, ``dmos``), ``src_imgs/<image>.png`` (30 references) and
``dst_imgs/<folder>/<image>.<TAG>.<level>.png`` (866 distorted images). DMOS in [0, 1]: higher = worse.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from perceptflow.data.datasets import DatasetTable
from perceptflow.data.rated.layout import Counts, FileIndex, LayoutError, build_table, check_counts, require

KIND = "csiq"
SCORES = "csiq.DMOS.xlsx"
SHEET = "all_by_image"
COLUMNS = ("image", "dst_idx", "dst_lev", "dmos")
#: ``dst_idx`` -> (folder under dst_imgs, file-name tag, distortion type).
TYPES = {
    1: ("awgn", "AWGN", "awgn"),
    2: ("jpeg", "JPEG", "jpeg"),
    3: ("jpeg2000", "jpeg2000", "jpeg2000"),
    4: ("fnoise", "fnoise", "pink_noise"),
    5: ("blur", "BLUR", "blur"),
    6: ("contrast", "contrast", "contrast"),
}
FULL = Counts(images=866, refs=30)


def load_csiq(root: Path, name: str = KIND) -> DatasetTable:
    """CSIQ from its unpacked folder (``path:``); target DMOS (lower is better).

    Raises:
        LayoutError: a missing file or sheet, or a ``dst_idx`` outside 1..6 (naming the file).
    """
    scores_path = require(root, KIND, SCORES, "src_imgs", "dst_imgs")[0]
    frame = read_scores(scores_path)
    refs = FileIndex(root / "src_imgs", KIND)
    folders = {idx: FileIndex(root / "dst_imgs" / folder, KIND) for idx, (folder, _, _) in TYPES.items()}
    rows = []
    for image, idx, level, dmos in frame[list(COLUMNS)].itertuples(index=False):
        if idx not in TYPES:
            raise LayoutError(f"{KIND}: {scores_path} has dst_idx {idx} for image {image}; CSIQ uses 1..6")
        folder, tag, dist_type = TYPES[idx]
        path = folders[idx].get(f"{image}.{tag}.{level}.png", listed_in=scores_path)
        rows.append(
            {
                "image_id": f"{folder}/{path.name}",
                "path": path,
                "ref_id": image,
                "ref_path": refs.get(f"{image}.png", listed_in=scores_path),
                "target": dmos,
                "dist_type": dist_type,
            }
        )
    table = build_table(name, rows, target_name="dmos", higher_is_better=False, source=scores_path)
    full = sum(index.n_images() for index in folders.values()) >= FULL.images
    check_counts(KIND, scores_path, table.frame, FULL, full=full)
    return table


def read_scores(path: Path) -> pd.DataFrame:
    """Rows of the ``all_by_image`` sheet (header found in the first rows; blank rows skipped).

    Raises:
        LayoutError: the workbook is unreadable, lacks the sheet, or lacks a column of :data:`COLUMNS`.
    """
    try:
        raw = pd.read_excel(path, sheet_name=SHEET, header=None, engine="openpyxl")
    except ValueError as error:
        raise LayoutError(f"{KIND}: {path} has no readable sheet {SHEET!r} ({error})") from error
    header_rows = [i for i in range(min(len(raw), 20)) if set(COLUMNS) <= {str(v).strip() for v in raw.iloc[i]}]
    if not header_rows:
        raise LayoutError(f"{KIND}: {path} sheet {SHEET!r} has no header row with columns {list(COLUMNS)}")
    header = header_rows[0]
    frame = raw.iloc[header + 1 :].copy()
    frame.columns = [str(v).strip() for v in raw.iloc[header]]
    frame = frame.dropna(subset=list(COLUMNS)).reset_index(drop=True)
    frame["image"] = [_name(v) for v in frame["image"]]
    frame["dst_idx"] = frame["dst_idx"].astype(int)
    frame["dst_lev"] = frame["dst_lev"].astype(int)
    return frame


def _name(value: object) -> str:
    """Image names such as ``1600`` come back from Excel as numbers."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
