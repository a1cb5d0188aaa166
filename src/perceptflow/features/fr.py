"""Per-image full-reference values stored beside the features: ``fr/<name>`` arrays of the feature store.

``fr/lpips`` is the LPIPS-style distance of each image to its reference (unit-normalised per-layer spatial
differences, unit weights over the chosen trunk stages) under the store's encoder: it needs spatial maps, so it is
computed in the extract stage, where images are read, by the same code as ``perceptflow score``
(`perceptflow.metric.score_files`), so the evaluate stage's ``fr_lpips`` rows and an exported metric agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import zarr

from perceptflow.data.datasets import DatasetTable
from perceptflow.metric.export import DEFAULT_FR_LAYERS, metric_payload
from perceptflow.metric.learned import LearnedMetric
from perceptflow.metric.scoring import score_files
from perceptflow.models import Encoder
from perceptflow.types import PathLikeStr

#: Group of the feature store holding the per-image FR values.
FR_GROUP = "fr"


def lpips_values(
    encoder: Encoder, table: DatasetTable, *, layers: Sequence[str] = DEFAULT_FR_LAYERS, batch_size: int = 32
) -> np.ndarray | None:
    """(N,) LPIPS-style distances of the table's images to their references; None without references."""
    if not table.has_references:
        return None
    metric = LearnedMetric(metric_payload(encoder, method="", layers=layers)).to(next(encoder.parameters()).device)
    paths, refs = list(table.frame["path"]), list(table.frame["ref_path"])
    return score_files(metric, paths, refs, batch_size=batch_size, desc=f"{table.name} fr")


def write_fr_values(store: PathLikeStr, values: Mapping[str, np.ndarray], attributes: Mapping[str, Any]) -> None:
    """Add ``fr/<name>`` float64 arrays (one value per image row) to an existing feature store."""
    group: Any = zarr.open_group(str(store), mode="r+")
    fr = group.require_group(FR_GROUP)
    fr.attrs.update(dict(attributes))
    for name, array in values.items():
        target = fr.create_array(name, shape=array.shape, dtype="float64", overwrite=True)
        target[:] = np.asarray(array, dtype=np.float64)


def read_fr_values(store: PathLikeStr) -> dict[str, np.ndarray]:
    """The ``fr/<name>`` arrays of a feature store ({} when it has none)."""
    group: Any = zarr.open_group(str(store), mode="r")
    if FR_GROUP not in group:
        return {}
    return {name: np.asarray(array[:], dtype=np.float64) for name, array in group[FR_GROUP].arrays()}
