"""Content-separated train/validation/test splits, and their JSON form.

Rows that share a group (a reference image, i.e. one content source) always land in the same subset, so a
regressor is scored on content it never saw (Madhusudana et al., CONTRIQUE, IEEE TIP 2022: 10 splits of 70/10/20
by reference).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from perceptflow.types import PathLikeStr

SUBSETS = ("train", "val", "test")
_MAX_REDRAWS = 1000


@dataclass(frozen=True, eq=False)
class Split:
    """One content-separated split: sorted int64 row indices per subset. Equal when all indices are equal."""

    index: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Split):
            return NotImplemented
        same_rows = all(np.array_equal(self.subset(name), other.subset(name)) for name in SUBSETS)
        return self.index == other.index and same_rows

    __hash__ = None  # type: ignore[assignment]  # holds arrays, like them unhashable

    def subset(self, name: str) -> np.ndarray:
        """Row indices of subset ``name`` ("train", "val" or "test")."""
        if name not in SUBSETS:
            raise ValueError(f"unknown subset {name!r}; expected one of {SUBSETS}")
        return getattr(self, name)


def group_counts(n_groups: int, fractions: tuple[float, float, float]) -> tuple[int, int, int]:
    """Number of groups in (train, val, test).

    Val and test get ``round(fraction * n_groups)`` groups (halves round up), at least one each; train takes
    the rest. If that leaves train empty, the larger of val/test gives groups back until train has one.

    Raises:
        ValueError: fewer than 3 groups, or fractions that are not three positive numbers summing to 1.
    """
    if n_groups < 3:
        raise ValueError(f"content splits need at least 3 groups (one per subset), got {n_groups}")
    if len(fractions) != 3 or any(not math.isfinite(f) or f <= 0 for f in fractions):
        raise ValueError(f"fractions must be three positive numbers (train, val, test), got {fractions}")
    if not math.isclose(sum(fractions), 1.0, abs_tol=1e-6):
        raise ValueError(f"fractions must sum to 1, got {fractions} (sum {sum(fractions):.6g})")
    n_val, n_test = (max(1, math.floor(f * n_groups + 0.5)) for f in fractions[1:])
    while n_groups - n_val - n_test < 1:
        if n_val > n_test:
            n_val -= 1
        else:
            n_test -= 1
    return n_groups - n_val - n_test, n_val, n_test


def content_splits(
    groups: Sequence[str],
    n_splits: int,
    fractions: tuple[float, float, float] = (0.7, 0.1, 0.2),
    seed: int = 0,
) -> list[Split]:
    """Draw ``n_splits`` random group-separated splits of the rows.

    Args:
        groups: content id of each row (e.g. the reference image); rows with equal ids stay together.
        n_splits: number of splits to draw (>= 1).
        fractions: (train, val, test) share of the *groups*; counts as in :func:`group_counts`.
        seed: seed of the ``numpy.random.Generator`` that shuffles the groups; same seed, same splits.

    Returns:
        Splits with indices 0..n_splits-1. Splits differ from each other whenever enough distinct
        assignments of groups exist; beyond that number, assignments repeat.

    Raises:
        ValueError: ``n_splits`` < 1, fewer than 3 distinct groups, or bad ``fractions``.
    """
    if n_splits < 1:
        raise ValueError(f"n_splits must be >= 1, got {n_splits}")
    labels = np.asarray([str(g) for g in groups])
    names = np.unique(labels)
    _, n_val, n_test = group_counts(len(names), fractions)
    n_possible = math.comb(len(names), n_test) * math.comb(len(names) - n_test, n_val)
    rng = np.random.default_rng(seed)
    seen: set[tuple[frozenset[str], frozenset[str]]] = set()
    splits = []
    for index in range(n_splits):
        for _ in range(_MAX_REDRAWS):
            order = names[rng.permutation(len(names))]
            key = (frozenset(order[:n_test]), frozenset(order[n_test : n_test + n_val]))
            if key not in seen or len(seen) >= n_possible:
                break
        seen.add(key)
        parts = {"test": order[:n_test], "val": order[n_test : n_test + n_val]}
        parts["train"] = order[n_test + n_val :]
        rows = {name: np.flatnonzero(np.isin(labels, part)).astype(np.int64) for name, part in parts.items()}
        splits.append(Split(index=index, **rows))
    return splits


def splits_to_json(splits: Sequence[Split], groups: Sequence[str], path: PathLikeStr) -> None:
    """Write splits as JSON: per split, the row indices and the sorted group names of each subset."""
    labels = np.asarray([str(g) for g in groups])
    records = []
    for split in splits:
        record: dict[str, object] = {"index": split.index}
        for name in SUBSETS:
            rows = split.subset(name)
            if rows.size and rows.max() >= len(labels):
                raise ValueError(f"split {split.index} {name} row {rows.max()} is out of range for {len(labels)} rows")
            record[name] = {"rows": rows.tolist(), "groups": sorted(set(labels[rows].tolist()))}
        records.append(record)
    payload = {"n_rows": len(labels), "subsets": list(SUBSETS), "splits": records}
    Path(path).write_text(json.dumps(payload) + "\n")


def splits_from_json(path: PathLikeStr) -> list[Split]:
    """Read splits written by :func:`splits_to_json`.

    Raises:
        ValueError: the file is not valid JSON or lacks a split/subset entry; the message names the file.
    """
    path = Path(path)
    try:
        payload = json.loads(path.read_text())
        splits = []
        for record in payload["splits"]:
            rows = {name: np.asarray(record[name]["rows"], dtype=np.int64) for name in SUBSETS}
            splits.append(Split(index=int(record["index"]), **rows))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        message = f"{path}: not a perceptflow splits file ({type(error).__name__}: {error})"
        raise ValueError(message) from error
    return splits
