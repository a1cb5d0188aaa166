"""Layout checks shared by the rated-dataset kinds: required files, case-insensitive lookup, documented counts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from perceptflow.data.datasets import DatasetError, DatasetTable
from perceptflow.data.images import IMAGE_SUFFIXES


class LayoutError(DatasetError):
    """A rated dataset's folder does not have its official layout; the message names the missing file."""


@dataclass(frozen=True)
class Counts:
    """Documented size of a full download: distorted (scored) images and references."""

    images: int
    refs: int


def require(root: Path, kind: str, *relative: str) -> list[Path]:
    """The paths ``root / r`` for each ``r``; raises naming the first missing one.

    Raises:
        LayoutError: ``root`` is not a folder, or a listed file or folder is missing.
    """
    if not root.is_dir():
        raise LayoutError(f"{kind}: dataset folder not found: {root} (point `path:` at the unpacked archive)")
    paths = [root / r for r in relative]
    for path in paths:
        if not path.exists():
            raise LayoutError(f"{kind}: missing {path} (expected in the official {kind} layout under {root})")
    return paths


class FileIndex:
    """Case-insensitive file lookup in one folder (archives differ in the case of names: ``I01.BMP``/``i01.bmp``)."""

    def __init__(self, folder: Path, kind: str) -> None:
        if not folder.is_dir():
            raise LayoutError(f"{kind}: missing folder {folder}")
        self.folder, self.kind = folder, kind
        self._files = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}

    def get(self, name: str, *, listed_in: Path) -> Path:
        """The file called ``name`` (any case); raises naming it and the score file that lists it."""
        path = self._files.get(name.lower())
        if path is None:
            raise LayoutError(f"{self.kind}: {self.folder / name} is missing (listed in {listed_in})")
        return path

    def n_images(self) -> int:
        """Number of image files in the folder."""
        return sum(Path(name).suffix in IMAGE_SUFFIXES for name in self._files)


def check_counts(kind: str, source: Path, frame: pd.DataFrame, expected: Counts, *, full: bool) -> None:
    """When the full set is present (``full``), the score file must list the documented numbers.

    Raises:
        LayoutError: a full download whose score file lists other numbers of images or references.
    """
    if not full:
        return
    found = Counts(images=len(frame), refs=int(frame["ref_id"].nunique()))
    if found != expected:
        raise LayoutError(
            f"{kind}: {source} lists {found.images} images of {found.refs} references; the full set documents "
            f"{expected.images} images of {expected.refs} references"
        )


def build_table(
    name: str, rows: Iterable[dict[str, object]], *, target_name: str, higher_is_better: bool, source: Path
) -> DatasetTable:
    """A :class:`DatasetTable` from rows with the table columns; raises on duplicates or non-finite scores.

    Raises:
        DatasetError: no rows, duplicate image ids, or a score that is not a finite number.
    """
    frame = pd.DataFrame(list(rows), columns=["image_id", "path", "ref_id", "ref_path", "target", "dist_type"])
    if frame.empty:
        raise DatasetError(f"{source}: lists no scored images")
    duplicated = sorted(set(frame.loc[frame["image_id"].duplicated(), "image_id"]))
    if duplicated:
        raise DatasetError(f"{source}: images listed twice: {duplicated[:5]}")
    target = pd.to_numeric(frame["target"], errors="coerce")
    if target.isna().any():
        raise DatasetError(
            f"{source}: score is not a finite number for {list(frame.loc[target.isna(), 'image_id'])[:5]}"
        )
    frame["target"] = target.astype(float)
    frame["path"] = frame["path"].astype(str)
    frame["ref_path"] = frame["ref_path"].astype(object).where(frame["ref_path"].notna(), None)
    frame["ref_path"] = [None if p is None else str(p) for p in frame["ref_path"]]
    return DatasetTable(name=name, frame=frame, target_name=target_name, higher_is_better=higher_is_better)
