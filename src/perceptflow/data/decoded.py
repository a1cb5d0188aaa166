"""Decode a bank's images once: a uint8 (N, H, W, 3) ``.npy`` file, memory-mapped by every training process.

Training reads each bank image once per epoch per method; decoding PNGs is what kept the GPU waiting
(docs/benchmarks.md). `decoded_images` writes the decoded pixels once per bank into ``<cache_dir>/<key>.npy``
(numpy's format, so any tool reads it) and later runs, methods and DataLoader workers map it read-only: the OS
page cache shares it.

- **Key**: SHA-256 of every file's path, size and modification time, in order: a rebuilt bank (new files) gets a
  new key; an unchanged bank reuses its file.
- **Where**: ``results/cache/decoded/`` beside the workflow's results (`perceptflow.ssl.stage`); writing a new key
  removes the folder's other ``.npy`` files, so one bank's worth of disk is held (N x H x W x 3 bytes: 7,800
  images at 128 px are 383 MB; 37,500 at 256 px are 7.4 GB). Deleting the folder is always safe.
- **When not**: images of different sizes (a cache holds one size), a cache folder that cannot be written (full
  disk): training reads the files as before; the reason is logged. ``PERCEPTFLOW_DECODED_CACHE=off`` turns it off.

Pixels are those of `perceptflow.data.images.load_rgb`, so training is bit-identical with or without the cache.
numpy's memmap is the tool; written by hand is only the keying and the atomic, locked build, which no library
offers for this layout.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock

from perceptflow.data.images import load_rgb
from perceptflow.types import ImageArray, PathLikeStr

log = logging.getLogger(__name__)

#: Environment variable that turns the cache off (``off``, ``0`` or ``false``).
CACHE_SWITCH = "PERCEPTFLOW_DECODED_CACHE"


class DecodedImages:
    """Read-only access to a decoded ``.npy`` by file path; opened lazily in each process (fork/spawn safe)."""

    def __init__(self, path: PathLikeStr, paths: Sequence[PathLikeStr]) -> None:
        self.path = Path(path)
        self.rows = {str(p): i for i, p in enumerate(paths)}
        self._array: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def __contains__(self, path: object) -> bool:
        return str(path) in self.rows

    def read(self, path: PathLikeStr) -> ImageArray:
        """The (H, W, 3) uint8 pixels of ``path`` (a view of the mapped file)."""
        if self._array is None:
            self._array = np.load(self.path, mmap_mode="r")
        return self._array[self.rows[str(path)]]

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_array": None}  # each process maps the file itself


def cache_key(paths: Sequence[PathLikeStr]) -> str:
    """SHA-256 over each file's path, size and modification time (ns), in order."""
    digest = hashlib.sha256()
    for path in paths:
        stat = os.stat(path)
        digest.update(f"{path}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:24]


def cache_enabled() -> bool:
    """False when ``PERCEPTFLOW_DECODED_CACHE`` is ``off``, ``0`` or ``false``."""
    return os.environ.get(CACHE_SWITCH, "on").strip().lower() not in ("off", "0", "false")


def decoded_images(paths: Sequence[PathLikeStr], cache_dir: PathLikeStr, *, threads: int = 4) -> DecodedImages | None:
    """The decoded images of ``paths`` under ``cache_dir`` (built on first use); None where no cache applies.

    Raises:
        perceptflow.data.images.ImageReadError: an image cannot be read (naming it), as training would.
    """
    if not paths or not cache_enabled():
        return None
    folder = Path(cache_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        key = cache_key(paths)
        target = folder / f"{key}.npy"
        with FileLock(str(folder / f"{key}.lock"), timeout=3600):
            if not target.is_file() and not _build(paths, target, threads):
                return None
    except OSError as error:  # an unwritable folder or a full disk: train from the files
        log.warning("decoded-image cache unavailable in %s (%s); reading image files", folder, error)
        return None
    for stale in folder.glob("*.npy"):  # another bank's finished file and its lock; a build in progress is kept
        if stale != target and not stale.name.endswith(".partial.npy"):
            stale.unlink(missing_ok=True)
            stale.with_suffix(".lock").unlink(missing_ok=True)
    return DecodedImages(target, paths)


def _build(paths: Sequence[PathLikeStr], target: Path, threads: int) -> bool:
    """Decode every image into ``target`` (via a temporary file, renamed when complete); False on mixed sizes."""
    first = load_rgb(paths[0])
    partial = target.with_suffix(".partial.npy")
    array = np.lib.format.open_memmap(partial, mode="w+", dtype=np.uint8, shape=(len(paths), *first.shape))
    try:
        array[0] = first

        def fill(row: int) -> bool:
            image = load_rgb(paths[row])
            if image.shape != first.shape:
                return False
            array[row] = image
            return True

        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            same_size = all(pool.map(fill, range(1, len(paths))))
        if not same_size:
            log.info("bank images differ in size: no decoded-image cache, training reads the files")
            return False
        array.flush()
        partial.replace(target)
        log.info("decoded %d images into %s (%.1f MB)", len(paths), target, target.stat().st_size / 1e6)
        return True
    finally:
        partial.unlink(missing_ok=True)
