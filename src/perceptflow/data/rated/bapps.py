"""BAPPS, the Berkeley-Adobe Perceptual Patch Similarity dataset (Zhang et al., LPIPS, CVPR 2018).

Official layout (``dataset/`` of richzhang/PerceptualSimilarity's download script):
``2afc/<split>/<subset>/{ref,p0,p1,judge}/<id>.{png,npy}`` (``judge``: fraction of people who found ``p1`` closer
to ``ref``) and ``jnd/val/<subset>/{p0,p1,same}/<id>.{png,npy}`` (``same``: fraction who saw no difference).
A 2AFC set, not a rated one: scored with the 2AFC score and JND mAP (:mod:`perceptflow.evaluate.twoafc`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from perceptflow.data.rated.layout import LayoutError, require

KIND = "bapps"
TWOAFC_PARTS = ("ref", "p0", "p1", "judge")
JND_PARTS = ("p0", "p1", "same")


@dataclass(frozen=True)
class BappsSet:
    """Triplets and pairs of a BAPPS download.

    ``twoafc`` has columns ``split``, ``subset``, ``id``, ``ref``, ``p0``, ``p1``, ``judge``; ``jnd`` has
    ``subset``, ``id``, ``p0``, ``p1``, ``same`` (empty when ``jnd/`` is absent).
    """

    twoafc: pd.DataFrame
    jnd: pd.DataFrame


def load_bapps(root: Path, *, splits: tuple[str, ...] = ("val",)) -> BappsSet:
    """The 2AFC triplets of ``splits`` and the JND pairs (``jnd/val``) of a BAPPS folder (``path:``).

    Raises:
        LayoutError: ``2afc/<split>`` missing, a subset lacking one of its folders, or an id present in one folder
            of a subset but missing in another (naming the missing file).
    """
    require(root, KIND, *(f"2afc/{split}" for split in splits))
    twoafc = pd.concat(
        [
            _subset(folder, TWOAFC_PARTS, "judge").assign(split=split)
            for split in splits
            for folder in _subsets(root / "2afc" / split)
        ],
        ignore_index=True,
    )
    jnd_root = root / "jnd" / "val"
    jnd = (
        pd.concat([_subset(folder, JND_PARTS, "same") for folder in _subsets(jnd_root)], ignore_index=True)
        if jnd_root.is_dir()
        else pd.DataFrame(columns=["subset", "id", *JND_PARTS])
    )
    return BappsSet(twoafc=twoafc, jnd=jnd)


def score_folders(root: Path, splits: tuple[str, ...] = ("val",)) -> list[Path]:
    """The human-judgement folders of a BAPPS download (``2afc/<split>/<subset>/judge``, ``jnd/val/<subset>/same``),
    checked without reading a file: the workflow's inputs and its preflight check.

    Raises:
        LayoutError: ``2afc/<split>`` missing or holding no subset, or a subset without its judgement folder.
    """
    require(root, KIND, *(f"2afc/{split}" for split in splits))
    folders = [folder / "judge" for split in splits for folder in _subsets(root / "2afc" / split)]
    jnd_root = root / "jnd" / "val"
    if jnd_root.is_dir():
        folders += [folder / "same" for folder in _subsets(jnd_root)]
    for folder in folders:
        require(folder.parent, KIND, folder.name)
    return folders


def _subsets(folder: Path) -> list[Path]:
    subsets = sorted(p for p in folder.iterdir() if p.is_dir())
    if not subsets:
        raise LayoutError(f"{KIND}: no subset folders in {folder}")
    return subsets


def _subset(folder: Path, parts: tuple[str, ...], score: str) -> pd.DataFrame:
    """One subset: ids from the score folder (``.npy``); every other part must hold ``<id>.png``."""
    require(folder, KIND, *parts)
    ids = sorted(p.stem for p in (folder / score).glob("*.npy"))
    if not ids:
        raise LayoutError(f"{KIND}: no .npy files in {folder / score}")
    columns: dict[str, list[object]] = {"subset": [folder.name] * len(ids), "id": list(ids)}
    for part in parts:
        if part == score:
            columns[part] = [_fraction(folder / part / f"{i}.npy") for i in ids]
            continue
        paths = [folder / part / f"{i}.png" for i in ids]
        missing = [p for p in paths if not p.is_file()]
        if missing:
            raise LayoutError(f"{KIND}: missing {missing[0]} (its {score} file exists; {len(missing)} missing)")
        columns[part] = [str(p) for p in paths]
    return pd.DataFrame(columns)


def _fraction(path: Path) -> float:
    value = float(np.ravel(np.load(path))[0])
    if not 0.0 <= value <= 1.0:
        raise LayoutError(f"{KIND}: {path} holds {value}, not a fraction in [0, 1]")
    return value
