"""LIVE Image Quality Assessment Database Release 2 (Sheikh et al., IEEE TIP 15(11), 2006).

Official layout (``databaserelease2/``): ``dmos.mat`` (``dmos``, ``orgs``: 982 entries), ``refnames_all.mat``
(``refnames_all``: the reference of each entry), the per-type folders ``jp2k/`` (227), ``jpeg/`` (233), ``wn/``,
``gblur/``, ``fastfading/`` (174 each) holding ``img<i>.bmp`` in the order of ``dmos.mat``, and ``refimgs/``.
Entries with ``orgs == 1`` are the references themselves and are dropped: 779 distorted images of 29 references
remain. DMOS: higher = worse.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import scipy.io

from perceptflow.data.datasets import DatasetTable
from perceptflow.data.rated.layout import Counts, FileIndex, LayoutError, build_table, check_counts, require

KIND = "live2"
#: Per-type folders in the order of the entries of ``dmos.mat``, with their number of entries.
TYPE_FOLDERS = (("jp2k", 227), ("jpeg", 233), ("wn", 174), ("gblur", 174), ("fastfading", 174))
FULL = Counts(images=779, refs=29)


def load_live2(root: Path, name: str = KIND) -> DatasetTable:
    """LIVE Release 2 from its unpacked folder (``path:``), references dropped; target DMOS (lower is better).

    Raises:
        LayoutError: a missing file, or .mat contents whose lengths disagree (naming the file).
    """
    dmos_mat, names_mat = require(root, KIND, "dmos.mat", "refnames_all.mat", "refimgs")[:2]
    dmos = _vector(dmos_mat, "dmos")
    orgs = _vector(dmos_mat, "orgs")
    refnames = [str(np.ravel(cell)[0]) for cell in np.ravel(_mat(names_mat)["refnames_all"])]
    sizes = {len(dmos), len(orgs), len(refnames)}
    if len(sizes) != 1:
        raise LayoutError(
            f"{KIND}: dmos/orgs in {dmos_mat} and refnames_all in {names_mat} differ in length: "
            f"{len(dmos)}, {len(orgs)}, {len(refnames)}"
        )
    refs = FileIndex(root / "refimgs", KIND)
    folders = {folder: FileIndex(root / folder, KIND) for folder, _ in TYPE_FOLDERS}
    rows = []
    for index, (folder, number) in enumerate(_entries(len(dmos), dmos_mat)):
        if orgs[index] == 1:
            continue
        image = folders[folder].get(f"img{number}.bmp", listed_in=dmos_mat)
        rows.append(
            {
                "image_id": f"{folder}/{image.name}",
                "path": image,
                "ref_id": Path(refnames[index]).stem,
                "ref_path": refs.get(refnames[index], listed_in=names_mat),
                "target": dmos[index],
                "dist_type": folder,
            }
        )
    table = build_table(name, rows, target_name="dmos", higher_is_better=False, source=dmos_mat)
    full = all(index.n_images() >= count for (_, count), index in zip(TYPE_FOLDERS, folders.values(), strict=True))
    check_counts(KIND, dmos_mat, table.frame, FULL, full=full)
    return table


def _entries(n: int, source: Path) -> list[tuple[str, int]]:
    """(folder, image number) of each entry of ``dmos.mat``: the type folders in their fixed order."""
    entries = [(folder, i) for folder, count in TYPE_FOLDERS for i in range(1, count + 1)]
    if n != len(entries):
        raise LayoutError(
            f"{KIND}: {source} has {n} entries; Release 2 lists {len(entries)} (jp2k, jpeg, wn, gblur, fastfading "
            "in that order), and each entry's image is found by its position"
        )
    return entries


def _mat(path: Path) -> dict[str, Any]:
    try:
        return scipy.io.loadmat(path)
    except (ValueError, OSError) as error:
        raise LayoutError(f"{KIND}: {path} is not a readable .mat file ({error})") from error


def _vector(path: Path, key: str) -> np.ndarray:
    contents = _mat(path)
    if key not in contents:
        raise LayoutError(f"{KIND}: {path} has no variable {key!r}")
    return np.ravel(contents[key]).astype(float)
