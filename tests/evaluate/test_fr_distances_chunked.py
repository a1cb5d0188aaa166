"""FR zero-shot distances read a store on disk in row chunks and equal the in-memory computation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from perceptflow.data.datasets import DatasetTable
from perceptflow.evaluate import stage
from perceptflow.features.store import open_feature_store, read_feature_store, write_feature_store


@pytest.mark.parametrize("metric", stage.FR_DISTANCES)
def test_feature_distances__lazy_store_in_chunks_equals_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, metric: str
) -> None:
    rng = np.random.default_rng(0)
    n = 50
    ids, refs = [f"i{i}" for i in range(n)], [f"r{i % 4}" for i in range(n)]
    frame = pd.DataFrame({"image_id": ids, "path": "x.png", "ref_id": refs, "ref_path": "r.png",
                          "target": rng.normal(size=n), "dist_type": "noise"})  # fmt: skip
    write_feature_store(tmp_path / "s.zarr", features=rng.normal(size=(n, 6)).astype(np.float32),
                        image_ids=list(frame["image_id"]), ref_features=rng.normal(size=(4, 6)).astype(np.float32),
                        ref_ids=[f"r{i}" for i in range(4)], attributes={}, chunk_rows=8)  # fmt: skip
    table = DatasetTable("t", frame, "mos", True)
    expected = stage.feature_distances(read_feature_store(tmp_path / "s.zarr"), table, metric)
    monkeypatch.setattr(stage, "DISTANCE_ROWS", 7)
    lazy = open_feature_store(tmp_path / "s.zarr")
    assert not isinstance(lazy.features, np.ndarray)
    np.testing.assert_allclose(stage.feature_distances(lazy, table, metric), expected, rtol=1e-6)
    with pytest.raises(KeyError, match="r9"):
        stage.feature_distances(lazy, DatasetTable("t", frame.assign(ref_id="r9"), "mos", True), metric)
