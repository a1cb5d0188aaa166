"""Dataset tables: which images to score, their reference and their quality target.

Two kinds are declared under ``datasets:`` in config:

- ``synthetic``: the distort stage's manifest; the target is the distortion level (higher = worse), pristine rows
  are left out (they are training data, not something to score).
- ``csv``: a user manifest with columns ``dist``, optional ``ref``, and a score column; paths are relative to the
  CSV. This is how human-rated data comes in.
- a standard rated dataset read from its official download (``live2``, ``csiq``, ``tid2013``, ``kadid10k``,
  ``koniq10k``, ``pipal``: :mod:`perceptflow.data.rated`), with ``path:`` the unpacked archive.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from perceptflow.types import PathLikeStr

#: Columns of every dataset table.
TABLE_COLUMNS = ("image_id", "path", "ref_id", "ref_path", "target", "dist_type")


class DatasetError(ValueError):
    """A dataset manifest is malformed; the message names the file and the column or row."""


@dataclass(frozen=True)
class DatasetTable:
    """Images of one dataset with targets. ``frame`` has :data:`TABLE_COLUMNS`; ``ref_path`` may be None."""

    name: str
    frame: pd.DataFrame
    target_name: str
    higher_is_better: bool

    @property
    def has_references(self) -> bool:
        """Whether every row has a reference image (full-reference scores need one)."""
        return bool(self.frame["ref_path"].notna().all())

    @property
    def n_refs(self) -> int:
        """Number of distinct references (content groups)."""
        return int(self.frame["ref_id"].nunique())

    def references(self) -> pd.DataFrame:
        """One row per distinct reference: ``ref_id``, ``ref_path`` (first-seen order)."""
        refs = self.frame.loc[self.frame["ref_path"].notna(), ["ref_id", "ref_path"]]
        return refs.drop_duplicates("ref_id").reset_index(drop=True)


def load_synthetic_dataset(manifest: PathLikeStr, *, name: str = "synthetic") -> DatasetTable:
    """Dataset table from the distort stage's manifest (distorted rows only; target = level)."""
    manifest = Path(manifest)
    frame = _read_csv(manifest)
    _require_columns(frame, manifest, ("image_id", "ref_id", "dist_type", "level", "path", "ref_path"))
    root = manifest.parent
    distorted = frame[frame["dist_type"] != "pristine"].reset_index(drop=True)
    table = pd.DataFrame(
        {
            "image_id": distorted["image_id"].astype(str),
            "path": [str(root / p) for p in distorted["path"]],
            "ref_id": distorted["ref_id"].astype(str),
            "ref_path": [str(root / p) for p in distorted["ref_path"]],
            "target": distorted["level"].astype(float),
            "dist_type": distorted["dist_type"].astype(str),
        }
    )
    return DatasetTable(name=name, frame=table, target_name="level", higher_is_better=False)


def load_csv_dataset(
    csv_path: PathLikeStr, *, score_column: str, higher_is_better: bool, name: str | None = None
) -> DatasetTable:
    """Dataset table from a user CSV with ``dist``, optional ``ref``, and ``score_column``.

    Raises:
        DatasetError: missing columns, missing image files, or non-numeric/missing scores (naming file and rows).
    """
    csv_path = Path(csv_path)
    frame = _read_csv(csv_path)
    _require_columns(frame, csv_path, ("dist", score_column))
    root = csv_path.parent
    scores = pd.to_numeric(frame[score_column], errors="coerce")
    bad = frame.index[scores.isna() | ~np.isfinite(scores.fillna(0))]
    if len(bad):
        rows = ", ".join(str(i + 2) for i in bad[:10])
        raise DatasetError(f"{csv_path}: column {score_column!r} is not a finite number on line(s) {rows}")
    has_ref = "ref" in frame.columns
    table = pd.DataFrame(
        {
            "image_id": frame["dist"].astype(str),
            "path": [str(root / p) for p in frame["dist"].astype(str)],
            "ref_id": frame["ref"].astype(str) if has_ref else frame["dist"].astype(str),
            "ref_path": [str(root / p) for p in frame["ref"].astype(str)] if has_ref else None,
            "target": scores.astype(float),
            "dist_type": frame["dist_type"].astype(str) if "dist_type" in frame.columns else "unknown",
        }
    )
    if table["image_id"].duplicated().any():
        duplicates = sorted(table.loc[table["image_id"].duplicated(), "image_id"])[:5]
        raise DatasetError(f"{csv_path}: duplicate 'dist' entries {duplicates}")
    _require_files(table, csv_path)
    return DatasetTable(
        name=name or csv_path.stem, frame=table, target_name=score_column, higher_is_better=higher_is_better
    )


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DatasetError(f"dataset manifest not found: {path}")
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DatasetError(f"{path}: not a readable CSV ({error})") from error


def _require_columns(frame: pd.DataFrame, path: Path, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DatasetError(f"{path}: missing column(s) {missing}; found {list(frame.columns)}")


def _require_files(table: pd.DataFrame, csv_path: Path) -> None:
    paths = list(table["path"]) + [p for p in table["ref_path"].dropna()]
    missing = sorted({p for p in paths if not Path(p).is_file()})
    if missing:
        shown = ", ".join(missing[:5]) + (f" (+{len(missing) - 5} more)" if len(missing) > 5 else "")
        raise DatasetError(f"{csv_path}: {len(missing)} listed image file(s) do not exist: {shown}")


def load_dataset(name: str, spec: dict, *, synthetic_manifest: PathLikeStr | None = None) -> DatasetTable:
    """Dataset table for one entry of the config's ``datasets:`` section.

    Raises:
        DatasetError: unknown ``kind`` or a malformed manifest (naming ``datasets.<name>``).
    """
    kind = spec.get("kind")
    if kind == "synthetic":
        if synthetic_manifest is None:
            raise DatasetError(f"datasets.{name}: a synthetic dataset needs the distort stage's manifest")
        return load_synthetic_dataset(synthetic_manifest, name=name)
    if kind == "csv":
        for key in ("path", "score_column", "higher_is_better"):
            if key not in spec:
                raise DatasetError(f"datasets.{name}.{key} is required for a csv dataset")
        return load_csv_dataset(
            spec["path"],
            score_column=spec["score_column"],
            higher_is_better=bool(spec["higher_is_better"]),
            name=name,
        )
    from perceptflow.data.rated.registry import RATED_KINDS, load_rated

    if kind in RATED_KINDS:
        if "path" not in spec:
            raise DatasetError(f"datasets.{name}.path is required for a {kind} dataset (the unpacked download)")
        return load_rated(str(kind), spec["path"], name)
    raise DatasetError(f"datasets.{name}.kind must be 'synthetic', 'csv' or one of {sorted(RATED_KINDS)}, got {kind!r}")


def save_table(table: DatasetTable, path: PathLikeStr) -> None:
    """Write a dataset table as CSV, with its target name and direction as constant columns."""
    frame = table.frame.assign(
        dataset=table.name, target_name=table.target_name, higher_is_better=table.higher_is_better
    )
    frame.to_csv(path, index=False)


def read_table(path: PathLikeStr) -> DatasetTable:
    """Read a table written by :func:`save_table`."""
    frame = _read_csv(Path(path))
    _require_columns(frame, Path(path), (*TABLE_COLUMNS, "dataset", "target_name", "higher_is_better"))
    meta = frame.iloc[0] if len(frame) else None
    if meta is None:
        raise DatasetError(f"{path}: dataset table has no rows")
    body = frame[list(TABLE_COLUMNS)].astype({"image_id": str, "ref_id": str, "dist_type": str})
    body["ref_path"] = body["ref_path"].astype(object).where(body["ref_path"].notna(), None)
    return DatasetTable(
        name=str(meta["dataset"]),
        frame=body,
        target_name=str(meta["target_name"]),
        higher_is_better=str(meta["higher_is_better"]).lower() == "true",
    )
