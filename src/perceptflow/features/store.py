"""Zarr v3 feature stores: one group per (encoder, dataset).

Layout: ``features`` (N x D float32, chunked along N), ``image_id`` (N strings), ``ref_features`` (R x D) and
``ref_id`` (R strings) for the references used by full-reference scoring; group attributes record the encoder
and the extraction config.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import zarr

from perceptflow.types import FeatureArray, PathLikeStr

#: Rows per chunk: ~1 MiB chunks for D = 1024 float32 ("at least 1 MB", zarr performance guide).
DEFAULT_CHUNK_ROWS = 256


@dataclass
class FeatureStore:
    """Features of one dataset under one encoder, as read back from Zarr."""

    features: FeatureArray
    image_ids: np.ndarray
    ref_features: FeatureArray
    ref_ids: np.ndarray
    attributes: dict[str, Any] = field(default_factory=dict)

    def reference_rows(self, ref_ids: Sequence[str]) -> FeatureArray:
        """Reference features aligned to ``ref_ids`` (KeyError naming a reference the store lacks)."""
        return _reference_rows(self.ref_ids, self.ref_features, ref_ids)


@dataclass
class LazyFeatureStore:
    """A feature store opened without reading its image features: ``features`` is the (N, D) Zarr array."""

    features: Any
    image_ids: np.ndarray
    ref_features: FeatureArray
    ref_ids: np.ndarray
    attributes: dict[str, Any] = field(default_factory=dict)

    def reference_rows(self, ref_ids: Sequence[str]) -> FeatureArray:
        """Reference features aligned to ``ref_ids`` (KeyError naming a reference the store lacks)."""
        return _reference_rows(self.ref_ids, self.ref_features, ref_ids)


class ReferenceDifferences:
    """|f - f_ref| of a store's rows (CONTRIQUE-FR's regressor input), computed when rows are read.

    An (N, D) float32 array-like for `perceptflow.regress.fit_ridge_on_splits`: row slices read the store's
    features block by block (Zarr chunks, as the store is laid out), so the difference matrix is never held whole.
    Not a dask array: the rows and their references come from one store object, read in this process.
    """

    def __init__(self, store: FeatureStore | LazyFeatureStore, ref_ids: Sequence[str]) -> None:
        self.features = store.features
        self.ref_ids = list(ref_ids)
        self.refs = store
        store.reference_rows(sorted(set(self.ref_ids)))  # a missing reference fails before any row is read
        self.shape = (len(self.ref_ids), int(store.features.shape[1]))
        self.dtype = np.dtype(np.float32)
        self.chunks = getattr(store.features, "chunks", None)

    def __getitem__(self, rows: slice) -> np.ndarray:
        start, stop, step = rows.indices(self.shape[0])
        if step != 1:
            raise IndexError("ReferenceDifferences reads contiguous row slices only")
        block = np.asarray(self.features[start:stop], dtype=np.float32)
        return np.abs(block - self.refs.reference_rows(self.ref_ids[start:stop]))


def write_feature_store(
    path: PathLikeStr,
    *,
    features: FeatureArray,
    image_ids: Sequence[str],
    ref_features: FeatureArray,
    ref_ids: Sequence[str],
    attributes: Mapping[str, Any],
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> None:
    """Write a feature store (overwrites ``path``)."""
    if len(features) != len(image_ids):
        raise ValueError(f"{len(features)} feature rows but {len(image_ids)} image ids")
    if len(ref_features) != len(ref_ids):
        raise ValueError(f"{len(ref_features)} reference rows but {len(ref_ids)} reference ids")
    group = zarr.open_group(str(path), mode="w", zarr_format=3)
    group.attrs.update(dict(attributes))
    _write_matrix(group, "features", features, chunk_rows)
    _write_matrix(group, "ref_features", ref_features, chunk_rows)
    write_strings(group, "image_id", image_ids)
    write_strings(group, "ref_id", ref_ids)


def read_feature_store(path: PathLikeStr) -> FeatureStore:
    """Read a feature store written by :func:`write_feature_store` (clear error naming a non-store path)."""
    group = _open_group(path)
    return FeatureStore(
        features=np.asarray(group["features"][:], dtype=np.float32),
        image_ids=_strings(group["image_id"]),
        ref_features=np.asarray(group["ref_features"][:], dtype=np.float32),
        ref_ids=_strings(group["ref_id"]),
        attributes=dict(group.attrs),
    )


def open_feature_store(path: PathLikeStr) -> LazyFeatureStore:
    """A feature store whose image features stay on disk (read by row ranges); ids and references are loaded."""
    group = _open_group(path)
    return LazyFeatureStore(
        features=group["features"],
        image_ids=_strings(group["image_id"]),
        ref_features=np.asarray(group["ref_features"][:], dtype=np.float32),
        ref_ids=_strings(group["ref_id"]),
        attributes=dict(group.attrs),
    )


def _open_group(path: PathLikeStr) -> Any:
    try:
        with warnings.catch_warnings():
            # Snakemake drops a hidden .snakemake_timestamp into directory() outputs; zarr may warn about it.
            warnings.filterwarnings("ignore", message=".*not recognized as a component of a Zarr hierarchy.*")
            group: Any = zarr.open_group(str(path), mode="r")
            missing = [n for n in ("features", "image_id", "ref_features", "ref_id") if n not in group]
            if missing:
                raise KeyError(f"no array {missing[0]!r}")
            return group
    except (FileNotFoundError, KeyError, zarr.errors.GroupNotFoundError) as error:
        raise ValueError(f"{path} is not a perceptflow feature store: {error}") from error


def _reference_rows(ref_ids: np.ndarray, ref_features: FeatureArray, wanted: Sequence[str]) -> FeatureArray:
    index = {ref: i for i, ref in enumerate(ref_ids)}
    missing = sorted(set(wanted) - set(index))
    if missing:
        raise KeyError(f"feature store has no reference features for {missing[:5]}")
    return ref_features[[index[r] for r in wanted]]


def _write_matrix(group: zarr.Group, name: str, values: np.ndarray, chunk_rows: int) -> None:
    rows, dim = values.shape if values.ndim == 2 else (0, 0)
    array = group.create_array(
        name,
        shape=(rows, dim),
        dtype="float32",
        chunks=(max(1, min(chunk_rows, rows)), max(1, dim)),
        dimension_names=("image", "feature"),
    )
    if rows:
        array[:] = values.astype(np.float32, copy=False)


def write_strings(group: zarr.Group, name: str, values: Sequence[str]) -> None:
    """A string array ``name`` of ``group``, one chunk."""
    array = group.create_array(name, shape=(len(values),), dtype=str, chunks=(max(1, len(values)),))
    if len(values):
        array[:] = np.asarray(list(values), dtype=str)


def _strings(array: Any) -> np.ndarray:
    """A zarr string array as a fixed-width numpy str array (zarr returns numpy's variable StringDType)."""
    return np.asarray(np.asarray(array[:]).tolist(), dtype=str)
