"""A feature store written chunk by chunk outside the rule's output, resumed after a kill, moved into place at the end.

Snakemake deletes a ``directory()`` output before it reruns a job, so an unfinished store lives in
``<partial_dir>/<key>/store.zarr`` beside ``progress.json`` (how many row chunks of each array are complete), where
``key`` hashes everything the store's content depends on (encoder file, images, settings). A rerun with the same
key continues after the last complete chunk; any other key starts afresh. Chunks are written whole and in row
order, and counted only after their write returns, so a chunk cut short by a kill is rewritten on resume. The
finished store is moved to the output path and the partial folder removed, with any stale keys beside it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from perceptflow.features.store import DEFAULT_CHUNK_ROWS, write_strings
from perceptflow.types import PathLikeStr

log = logging.getLogger(__name__)

PROGRESS = "progress.json"


@dataclass(frozen=True)
class RowArray:
    """One per-row array of a store: ``rows`` rows of ``shape`` each (``()`` for one value per row)."""

    name: str
    rows: int
    shape: tuple[int, ...]
    dtype: str = "float32"


def content_key(parts: Mapping[str, Any]) -> str:
    """A 16-hex-digit hash of JSON-serialisable ``parts`` (mapping keys sorted)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class PartialStore:
    """A Zarr v3 store under construction: arrays sized up front, filled one row chunk at a time."""

    def __init__(self, folder: Path, chunk_rows: int) -> None:
        self.folder = folder
        self.path = folder / "store.zarr"
        self.chunk_rows = chunk_rows
        self.group: Any = zarr.open_group(str(self.path), mode="r+")
        self.progress: dict[str, int] = json.loads((folder / PROGRESS).read_text())["chunks"]

    @classmethod
    def open(
        cls,
        partial_dir: PathLikeStr,
        key: str,
        *,
        arrays: Sequence[RowArray],
        ids: Mapping[str, Sequence[str]],
        attributes: Mapping[str, Any],
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ) -> PartialStore:
        """Resume ``<partial_dir>/<key>`` when its progress record exists, else create it afresh."""
        folder = Path(partial_dir) / key
        if (folder / PROGRESS).is_file():
            store = cls(folder, chunk_rows)
            log.info("resuming partial store %s at %s", store.path, store.progress)
            return store
        shutil.rmtree(folder, ignore_errors=True)
        group = zarr.open_group(str(folder / "store.zarr"), mode="w", zarr_format=3)
        group.attrs.update(dict(attributes))
        for spec in arrays:
            group.create_array(
                spec.name,
                shape=(spec.rows, *spec.shape),
                dtype=spec.dtype,
                chunks=(max(1, min(chunk_rows, spec.rows)), *(max(1, n) for n in spec.shape)),
                dimension_names=("image", "feature")[: 1 + len(spec.shape)] if len(spec.shape) <= 1 else None,
            )
        for name, values in ids.items():
            write_strings(group, name, values)
        _write_progress(folder, dict.fromkeys((spec.name for spec in arrays), 0))
        return cls(folder, chunk_rows)

    def done(self, name: str) -> int:
        """Complete row chunks of array ``name``."""
        return self.progress[name]

    def write_chunk(self, chunk: int, values: Mapping[str, np.ndarray]) -> None:
        """Write row chunk ``chunk`` of each named array, then record it complete (chunks go in order)."""
        for name, block in values.items():
            if chunk != self.progress[name]:
                raise ValueError(f"{self.path}: chunk {chunk} of {name!r} written out of order")
            start = chunk * self.chunk_rows
            self.group[name][start : start + len(block)] = block
        self.progress.update(dict.fromkeys(values, chunk + 1))
        _write_progress(self.folder, self.progress)

    def finish(self, out: PathLikeStr) -> None:
        """Move the complete store to ``out`` (replacing it) and remove the partial folder and stale keys."""
        for name, chunks in self.progress.items():
            if chunks * self.chunk_rows < self.group[name].shape[0]:
                raise RuntimeError(f"{self.path}: array {name!r} is incomplete ({chunks} chunks written)")
        target = Path(out)
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(self.path), str(target))
        parent = self.folder.parent
        shutil.rmtree(self.folder)
        for stale in parent.iterdir() if parent.is_dir() else ():
            if stale.is_dir() and (stale / PROGRESS).is_file():
                log.info("removing stale partial store %s", stale)
                shutil.rmtree(stale)


def _write_progress(folder: Path, chunks: Mapping[str, int]) -> None:
    """Atomic replace: a kill leaves the previous record or the new one, never half of one."""
    temporary = folder / f"{PROGRESS}.tmp"
    temporary.write_text(json.dumps({"chunks": dict(chunks)}, sort_keys=True))
    os.replace(temporary, folder / PROGRESS)
