"""Where the volume bank's references come from: bundled demo volumes, a folder or a CSV of NIfTI files."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perceptflow.data.volumes.nifti import NIFTI_SUFFIXES, demo_volumes, nifti_files


def collect_volume_sources(spec: Mapping[str, Any]) -> dict[str, Path]:
    """Source files by volume id from the ``volumes.references`` section.

    ``{kind: demo, names: [...]}``: :func:`demo_volumes` (all when ``names`` is empty); ``{kind: folder, path}``:
    every ``.nii``/``.nii.gz`` file in the folder (id = file name without the suffix); ``{kind: csv, path}``: a
    CSV with a ``path`` column (relative to the CSV) and an optional ``id`` column.

    Raises:
        ValueError: unknown kind or demo name, a CSV without ``path``, duplicate ids (the message names the source).
        NiftiReadError: a missing folder or one without NIfTI files.
    """
    kind = spec.get("kind", "demo")
    if kind == "demo":
        available = demo_volumes()
        names = list(spec.get("names") or available)
        unknown = [name for name in names if name not in available]
        if unknown:
            raise ValueError(f"volumes.references.names: unknown demo volume(s) {unknown}; valid: {list(available)}")
        return {name: available[name] for name in names}
    if kind == "folder":
        files = nifti_files(spec["path"])
        return _unique({volume_stem(p): p for p in files}, [volume_stem(p) for p in files], spec["path"])
    if kind == "csv":
        csv = Path(spec["path"])
        if not csv.is_file():
            raise ValueError(f"volumes.references.path: CSV not found: {csv}")
        frame = pd.read_csv(csv, dtype=str)
        if "path" not in frame.columns:
            raise ValueError(f"{csv}: no 'path' column (columns: {list(frame.columns)})")
        if frame["path"].isna().any():
            raise ValueError(f"{csv}: empty 'path' in row(s) {list(np.flatnonzero(frame['path'].isna()) + 2)}")
        paths = [csv.parent / p for p in frame["path"]]
        ids = list(frame["id"]) if "id" in frame.columns else [volume_stem(p) for p in paths]
        return _unique(dict(zip(ids, paths, strict=True)), ids, csv)
    raise ValueError(f"volumes.references.kind must be 'demo', 'folder' or 'csv', got {kind!r}")


def volume_stem(path: Path) -> str:
    """File name without ``.nii``/``.nii.gz``."""
    for suffix in NIFTI_SUFFIXES:
        if path.name.endswith(suffix):
            return path.name[: -len(suffix)]
    return path.stem


def _unique(sources: dict[str, Path], ids: list[str], where: object) -> dict[str, Path]:
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise ValueError(f"{where}: several volumes share the id(s) {duplicated}")
    return sources
