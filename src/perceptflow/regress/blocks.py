"""Row-block passes over a feature matrix held in memory, in a Zarr array or in a dask array.

Every out-of-core computation of the ridge is a fold over row blocks: a function of one block (its first row and
its values) whose results are combined (summed Gram matrices, concatenated predictions). A numpy or Zarr matrix is
read block by block in this process, so memory holds one block at a time; a dask array becomes one task per dask
block, reduced in a tree, computed on dask's current scheduler (threads by default, a ``dask.distributed`` client
when one is active), so a cluster can do the work.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

#: Bytes of float64 per row block read in this process (the block is converted to float64 for accumulation).
BLOCK_BYTES = 32 * 2**20
#: Fan-in of the dask tree reduction.
SPLIT_EVERY = 4
#: The environment variable naming a ``dask.distributed`` scheduler (the distort stage reads it too:
#: ``perceptflow.distortions.parallel.SCHEDULER_ENV``; not imported, so distortion edits never rerun the ridge).
SCHEDULER_ENV = "PERCEPTFLOW_DASK_SCHEDULER"
LOCAL_SCHEDULERS = ("threads", "processes", "synchronous")


@contextlib.contextmanager
def dask_scheduler() -> Iterator[bool]:
    """Connect to the ``dask.distributed`` scheduler named by ``$PERCEPTFLOW_DASK_SCHEDULER`` while inside; yields
    whether one is connected (unset or a local scheduler name: False, and features are read in this process).

    Raises:
        RuntimeError: an address is set but ``dask.distributed`` is not installed.
    """
    address = os.environ.get(SCHEDULER_ENV, "").strip()
    if not address or address in LOCAL_SCHEDULERS:
        yield False
        return
    try:
        from dask.distributed import Client
    except ImportError as error:
        raise RuntimeError(f"{SCHEDULER_ENV}={address!r} needs dask.distributed: pip install distributed") from error
    with Client(address):
        yield True


def is_dask(features: Any) -> bool:
    """True for a ``dask.array.Array`` (checked without importing dask when it is not loaded)."""
    return type(features).__module__.startswith("dask.")


def block_rows(features: Any) -> int:
    """Rows per block read in this process: about :data:`BLOCK_BYTES` of float64, a multiple of the Zarr chunk."""
    dim = max(1, int(features.shape[1]))
    rows = max(1, BLOCK_BYTES // (8 * dim))
    chunks = getattr(features, "chunks", None)
    if isinstance(chunks, tuple) and chunks and isinstance(chunks[0], int):  # a Zarr array
        rows = max(chunks[0], rows - rows % chunks[0])
    return rows


def fold_blocks(
    features: Any,
    fn: Callable[[int, np.ndarray], T],
    combine: Callable[[Sequence[T]], T],
) -> T:
    """``combine`` of ``fn(start, block)`` over the row blocks of ``features``, in row order.

    Args:
        features: (N, D) numpy, Zarr or dask array; N >= 1.
        fn: a picklable function of a block's first row index and its values (float as stored).
        combine: a picklable function folding a list of results, in row order, into one.
    """
    if is_dask(features):
        return _fold_dask(features, fn, combine)
    step = block_rows(features)
    result: T | None = None
    for start in range(0, int(features.shape[0]), step):
        part = fn(start, np.asarray(features[start : start + step]))
        result = part if result is None else combine([result, part])
    assert result is not None, "fold_blocks needs at least one row"
    return result


def first_rows(features: Any, count: int) -> np.ndarray:
    """The first ``count`` rows as a float64 numpy array."""
    head = features[:count]
    return np.asarray(head.compute() if is_dask(features) else head, dtype=np.float64)


def _fold_dask(features: Any, fn: Callable[[int, np.ndarray], T], combine: Callable[[Sequence[T]], T]) -> T:
    import dask

    if features.numblocks[1] != 1:
        features = features.rechunk({1: -1})
    starts = np.concatenate([[0], np.cumsum(features.chunks[0])[:-1]]).astype(int)
    blocks = features.to_delayed().ravel()
    parts = [
        dask.delayed(functools.partial(fn, int(start)))(block) for start, block in zip(starts, blocks, strict=True)
    ]
    while len(parts) > 1:
        parts = [dask.delayed(combine)(parts[i : i + SPLIT_EVERY]) for i in range(0, len(parts), SPLIT_EVERY)]
    (result,) = dask.compute(parts[0])
    return result
