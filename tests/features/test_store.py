"""Zarr feature stores: layout, chunking, round trip, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zarr

from perceptflow.features import read_feature_store, write_feature_store


def test_roundtrip_and_chunking(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(600, 8)).astype(np.float32)
    refs = rng.normal(size=(3, 8)).astype(np.float32)
    ids = [f"img{i}" for i in range(600)]
    write_feature_store(
        tmp_path / "s.zarr",
        features=features,
        image_ids=ids,
        ref_features=refs,
        ref_ids=["a", "b", "c"],
        attributes={"encoder": {"arch": "resnet18"}},
    )
    group = zarr.open_group(str(tmp_path / "s.zarr"), mode="r")
    assert group["features"].chunks == (256, 8)
    assert group.metadata.zarr_format == 3
    store = read_feature_store(tmp_path / "s.zarr")
    np.testing.assert_array_equal(store.features, features)
    assert list(store.image_ids[:2]) == ["img0", "img1"]
    assert store.attributes["encoder"] == {"arch": "resnet18"}
    np.testing.assert_array_equal(store.reference_rows(["c", "a"]), refs[[2, 0]])
    with pytest.raises(KeyError, match="'zz'"):
        store.reference_rows(["zz"])


def test_mismatched_lengths_and_non_stores_fail(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="2 feature rows but 1 image ids"):
        write_feature_store(
            tmp_path / "s.zarr",
            features=np.zeros((2, 4), np.float32),
            image_ids=["a"],
            ref_features=np.zeros((0, 4), np.float32),
            ref_ids=[],
            attributes={},
        )
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="not a perceptflow feature store"):
        read_feature_store(tmp_path / "empty")


def test_reference_differences_read_in_blocks_equal_the_dense_matrix_and_its_ridge(tmp_path: Path) -> None:
    from perceptflow.features.store import ReferenceDifferences, open_feature_store
    from perceptflow.regress import fit_ridge_on_splits
    from perceptflow.regress.splits import content_splits

    rng = np.random.default_rng(1)
    ref_ids = [f"r{i % 12}" for i in range(700)]
    refs = rng.normal(size=(12, 6)).astype(np.float32)
    features = (refs[[i % 12 for i in range(700)]] + rng.normal(size=(700, 6))).astype(np.float32)
    write_feature_store(
        tmp_path / "s.zarr", features=features, image_ids=[str(i) for i in range(700)], ref_features=refs,
        ref_ids=[f"r{i}" for i in range(12)], attributes={}, chunk_rows=64,
    )  # fmt: skip
    store = open_feature_store(tmp_path / "s.zarr")
    lazy = ReferenceDifferences(store, ref_ids)
    dense = np.abs(features - refs[[i % 12 for i in range(700)]])
    assert lazy.shape == (700, 6) and lazy.chunks == (64, 6)
    np.testing.assert_array_equal(lazy[100:300], dense[100:300])
    targets = dense.sum(axis=1) + rng.normal(scale=0.1, size=700)
    splits = content_splits(ref_ids, 3, (0.6, 0.2, 0.2), 0)
    on_lazy = fit_ridge_on_splits(lazy, targets, splits, [0.1, 1.0, 10.0])
    on_dense = fit_ridge_on_splits(dense, targets, splits, [0.1, 1.0, 10.0])
    assert on_lazy.alphas == on_dense.alphas
    np.testing.assert_allclose(on_lazy.predictions["prediction"], on_dense.predictions["prediction"], atol=1e-9)
    with pytest.raises(KeyError, match="r99"):
        ReferenceDifferences(store, [*ref_ids[:-1], "r99"])
