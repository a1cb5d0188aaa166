"""DPS adaptation settings (`AdaptSpec`, the ``adapt_dps`` config section) and the seeded train/val/test split
of each context's triplets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from perceptflow.data.images import load_rgb
from perceptflow.dps.triplets import Triplets
from perceptflow.metric.distance import DEFAULT_LAYERS

SPLITS = ("train", "val", "test")
SPLIT_BY = ("triplet", "reference")
#: When the sync loss 10 * BCE(sigmoid(d0 - d1), h) is on: every batch, batches with 2AFC <= 0.5 (DPS), never.
SYNC_MODES = ("always", "auto", "never")
#: Format tag of ``metric.pt``.


@dataclass(frozen=True)
class AdaptSpec:
    """Settings of the ``adapt_dps`` config section that shape the training (not which encoders/variants run).

    ``lr`` drives the judge and the 1x1 weights (which start at 1); ``backbone_lr`` the trunk of ``tune`` and
    ``scratch`` (its own Adam parameter group; unused by ``lin`` and ``baseline``).
    """

    epochs: int = 40
    lr: float = 0.1
    backbone_lr: float = 1e-4
    batch_size: int = 64
    decay_epochs: int = 0
    sync: str = "always"
    dropout: float = 0.5
    layers: tuple[str, ...] = DEFAULT_LAYERS
    fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)
    split_by: str = "triplet"
    seed: int = 0
    synthetic: bool = True

    def __post_init__(self) -> None:
        for key in ("epochs", "batch_size"):
            if getattr(self, key) < 1:
                raise ValueError(f"adapt_dps.{key} must be >= 1, got {getattr(self, key)}")
        for key in ("lr", "backbone_lr"):
            if not getattr(self, key) > 0:
                raise ValueError(f"adapt_dps.{key} must be > 0, got {getattr(self, key)}")
        if not 0 <= self.decay_epochs <= self.epochs:
            raise ValueError(f"adapt_dps.decay_epochs must be in [0, epochs={self.epochs}], got {self.decay_epochs}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"adapt_dps.dropout must be in [0, 1), got {self.dropout}")
        if not self.layers:
            raise ValueError("adapt_dps.layers must name at least one trunk stage")
        if len(self.fractions) != 3 or any(f <= 0 for f in self.fractions) or abs(sum(self.fractions) - 1) > 1e-6:
            raise ValueError(f"adapt_dps.fractions must be three positive numbers summing to 1, got {self.fractions}")
        if self.sync not in SYNC_MODES:
            raise ValueError(f"adapt_dps.sync must be one of {SYNC_MODES}, got {self.sync!r}")
        if self.split_by not in SPLIT_BY:
            raise ValueError(f"adapt_dps.split_by must be one of {SPLIT_BY}, got {self.split_by!r}")
        if self.seed < 0:
            raise ValueError(f"adapt_dps.seed must be >= 0, got {self.seed}")

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> AdaptSpec:
        """From the ``adapt_dps`` config section (``enabled``, ``encoders``, ``variants`` are ignored here)."""
        known = set(cls.__dataclass_fields__)
        values = {k: v for k, v in section.items() if k in known}
        if "layers" in values:
            values["layers"] = tuple(values["layers"])
        if "fractions" in values:
            values["fractions"] = tuple(float(f) for f in values["fractions"])
        return cls(**values)


def split_indices(
    n: int, fractions: Sequence[float], seed: int, groups: Sequence[str] | None = None
) -> dict[str, np.ndarray]:
    """Seeded disjoint train/val/test row indices covering ``range(n)``.

    Without ``groups`` rows are split individually; with ``groups`` (e.g. reference ids) whole groups go to one
    split, so held-out triplets show unseen images. Each split gets ``round(fraction * count)`` units (at least
    one; train the rest).

    Raises:
        ValueError: fewer than three rows or groups to split (naming ``adapt_dps.split_by``).
    """
    units = np.arange(n) if groups is None else np.array(sorted(set(groups)))
    if len(units) < 3:
        what = "triplets" if groups is None else "references (adapt_dps.split_by: reference)"
        raise ValueError(f"need at least 3 {what} to split into train/val/test, got {len(units)}")
    order = np.random.default_rng(seed).permutation(len(units))
    n_val = max(1, round(fractions[1] * len(units)))
    n_test = max(1, round(fractions[2] * len(units)))
    if n_val + n_test >= len(units):
        n_val, n_test = 1, 1
    parts = {"test": order[:n_test], "val": order[n_test : n_test + n_val], "train": order[n_test + n_val :]}
    if groups is None:
        return {name: np.sort(parts[name]) for name in SPLITS}
    group_array = np.asarray(groups)
    return {name: np.flatnonzero(np.isin(group_array, units[parts[name]])) for name in SPLITS}


def triplets_from_frame(frame: pd.DataFrame) -> Triplets:
    """`Triplets` from rows of `load_triplets` (resolved paths); every image is read once."""
    cache: dict[str, np.ndarray] = {}

    def stack(column: str) -> torch.Tensor:
        images = []
        for path in frame[column]:
            if path not in cache:
                cache[path] = load_rgb(path)
            images.append(cache[path])
        return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div(255.0)

    judge = torch.tensor(frame["judge"].to_numpy(dtype=np.float32))
    return Triplets(stack("ref_path"), stack("p0_path"), stack("p1_path"), judge)
