"""3D datasets: which config datasets hold volumes, their tables, and reading their volumes.

Two kinds are 3D: ``synthetic_volumes`` (the volume bank's manifest, volumes already preprocessed; target = level)
and ``csv`` datasets whose files are NIfTI (``.nii``/``.nii.gz``: human-rated volumes with ``dist``, ``ref`` and a
score column), which are read with the ``volumes.preprocess`` settings so they sit on the training grid. Every
other dataset is 2D. Importing this module does not import torch.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import numpy.typing as npt

from perceptflow.data.datasets import DatasetError, DatasetTable, load_csv_dataset, load_synthetic_dataset
from perceptflow.data.volumes.nifti import NIFTI_SUFFIXES, NiftiConfig, NiftiReadError, read_volume
from perceptflow.types import PathLikeStr

#: File endings of volumes.
#: The dataset kind of the volume bank's manifest.
SYNTHETIC_VOLUMES = "synthetic_volumes"


def is_volume_path(path: object) -> bool:
    """True for a ``.nii``/``.nii.gz`` file name (case-insensitive)."""
    return str(path).lower().endswith(NIFTI_SUFFIXES)


def is_volume_dataset(spec: Mapping[str, Any]) -> bool:
    """True when a ``datasets:`` entry is 3D: kind ``synthetic_volumes``, or a ``csv`` whose first ``dist`` is NIfTI.

    A csv file that does not exist yet counts as 2D (loading it later fails naming the file).
    """
    if spec.get("kind") == SYNTHETIC_VOLUMES:
        return True
    path = Path(str(spec.get("path", "")))
    if spec.get("kind") != "csv" or not path.is_file():
        return False
    with path.open(newline="") as handle:
        first = next(csv.DictReader(handle), None) or {}
    return is_volume_path(first.get("dist") or "")


def load_volume_dataset(
    name: str, spec: Mapping[str, Any], *, synthetic_manifest: PathLikeStr | None = None
) -> DatasetTable:
    """Dataset table of a 3D ``datasets:`` entry; ``path`` and ``ref_path`` name NIfTI files.

    Raises:
        DatasetError: not a 3D dataset, a missing key or manifest, or a csv row that is not a NIfTI file
            (naming ``datasets.<name>`` and the file).
    """
    kind = spec.get("kind")
    if kind == SYNTHETIC_VOLUMES:
        if synthetic_manifest is None:
            raise DatasetError(f"datasets.{name}: a synthetic_volumes dataset needs the volume bank's manifest")
        table = load_synthetic_dataset(synthetic_manifest, name=name)
    elif kind == "csv":
        for key in ("path", "score_column", "higher_is_better"):
            if key not in spec:
                raise DatasetError(f"datasets.{name}.{key} is required for a csv dataset")
        table = load_csv_dataset(
            spec["path"], score_column=spec["score_column"], higher_is_better=bool(spec["higher_is_better"]), name=name
        )
    else:
        raise DatasetError(f"datasets.{name}.kind must be 'synthetic_volumes' or 'csv' for volumes, got {kind!r}")
    if not table.has_references:
        raise DatasetError(
            f"datasets.{name}: rated volumes need a 'ref' column (the source volume): it groups the "
            "leave-one-volume-out splits and is the reference of the full-reference scores"
        )
    paths = list(table.frame["path"]) + list(table.frame["ref_path"])
    foreign = [p for p in paths if not is_volume_path(p)]
    if foreign:
        raise DatasetError(f"datasets.{name}: {len(foreign)} file(s) are not .nii/.nii.gz volumes, e.g. {foreign[0]}")
    return table


def preprocess_config(name: str, spec: Mapping[str, Any], preprocess: Mapping[str, Any] | None) -> NiftiConfig | None:
    """How to read a dataset's volumes: None (as stored) for the bank's, ``volumes.preprocess`` for a csv's.

    The section means what it means to the volume bank (``spacing`` mm, one value or three; ``shape``, one side or
    three; ``percentiles``; defaults 3 mm, 64^3, 0.5-99.5%), except that 4D files are refused: one rated file must be
    one volume.
    """
    if spec.get("kind") == SYNTHETIC_VOLUMES:
        return None
    section = dict(preprocess or {})
    spacing, shape = section.get("spacing", 3.0), section.get("shape", 64)
    try:
        return NiftiConfig(  # the dataclass checks the tuple lengths
            spacing=tuple(float(s) for s in spacing) if isinstance(spacing, list | tuple) else spacing,  # type: ignore[arg-type]
            shape=(int(shape),) * 3 if isinstance(shape, int) else (tuple(int(s) for s in shape) if shape else None),  # type: ignore[arg-type]
            percentiles=tuple(float(p) for p in section.get("percentiles", (0.5, 99.5))),  # type: ignore[arg-type]
            four_d="refuse",
        )
    except (TypeError, ValueError) as error:
        raise DatasetError(f"volumes.preprocess (for datasets.{name}): {error}") from error


def read_volume_array(path: PathLikeStr, preprocess: NiftiConfig | None = None) -> npt.NDArray[np.float32]:
    """A volume as float32 (D, H, W): as stored when ``preprocess`` is None, else through ``read_volume``.

    Raises:
        NiftiReadError: missing or unreadable file, not 3D, or non-finite voxels (naming the file).
    """
    if preprocess is not None:
        return read_volume(path, preprocess)[0].data
    path = Path(path)
    if not path.is_file():
        raise NiftiReadError(f"NIfTI file not found: {path}")
    try:
        data = nib.load(path).get_fdata(dtype=np.float32)  # type: ignore[attr-defined]
    except Exception as error:  # nibabel raises many types on damaged files
        raise NiftiReadError(f"cannot read {path} as NIfTI (truncated or not a NIfTI file?): {error}") from error
    if data.ndim != 3:
        raise NiftiReadError(f"{path}: expected a 3D volume, got shape {data.shape}")
    if not np.isfinite(data).all():
        raise NiftiReadError(f"{path}: {int((~np.isfinite(data)).sum())} NaN/Inf voxels")
    return data
