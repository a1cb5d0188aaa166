"""dask.distributed for real: a LocalCluster of worker processes on loopback runs the distort stage and the ridge."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import zarr

from perceptflow.data.datasets import DatasetTable, save_table
from perceptflow.distortions.parallel import SCHEDULER_ENV
from perceptflow.distortions.stage import distort_references
from perceptflow.features.store import write_feature_store
from perceptflow.regress import blocks, content_splits, splits_to_json
from perceptflow.regress import stage as regress_stage
from perceptflow.regress.stage import ridge_on_store

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """Two single-threaded worker processes on 127.0.0.1; yields the scheduler address."""
    src = str(Path(__file__).resolve().parents[2] / "src")
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (src, saved) if p)  # workers import this checkout
    try:
        with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as local:
            yield local.scheduler_address
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_scheduler_variable__is_the_one_the_distort_stage_reads() -> None:
    assert blocks.SCHEDULER_ENV == SCHEDULER_ENV


def test_distort_stage__bank_on_the_cluster_is_byte_identical_to_local_threads(
    cluster: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = {
        "types": ["jpeg", "white_noise", "gaussian_blur"],
        "levels": [1, 4],
        "seed": 0,
        "crop": 48,
        "resize": 48,
        "composite": {"enabled": True, "max_chain": 2, "per_reference": 2},
        "references": {"kind": "demo", "names": ["astronaut", "camera"]},
    }
    runs = {}
    for name, scheduler in (("local", "threads"), ("cluster", cluster)):
        monkeypatch.setenv(SCHEDULER_ENV, scheduler)
        runs[name] = distort_references(
            params, out_dir=tmp_path / name / "images", manifest_path=tmp_path / name / "manifest.csv", threads=2
        )
    pd.testing.assert_frame_equal(runs["local"], runs["cluster"])
    assert files(tmp_path / "local") == files(tmp_path / "cluster")
    assert len(files(tmp_path / "local")) == len(runs["local"]) + 1  # every image and the manifest


def test_ridge__from_a_zarr_store_on_the_cluster_equals_the_local_fit(
    cluster: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(0)
    n, dim = 600, 16
    features = (rng.normal(size=(n, dim)) + 3).astype(np.float32)
    ids = [f"i{i}" for i in range(n)]
    frame = pd.DataFrame(
        {
            "image_id": ids,
            "path": [f"{i}.png" for i in ids],
            "ref_id": [f"r{i // 10}" for i in range(n)],
            "ref_path": None,
            "target": features @ rng.normal(size=dim) + rng.normal(size=n),
            "dist_type": "noise",
        }
    )
    save_table(DatasetTable("toy", frame, "mos", True), tmp_path / "table.csv")
    splits = content_splits(list(frame["ref_id"]), 4, (0.7, 0.1, 0.2), 0)
    splits_to_json(splits, list(frame["ref_id"]), tmp_path / "splits.json")
    write_feature_store(
        tmp_path / "f.zarr",
        features=features,
        image_ids=ids,
        ref_features=np.zeros((0, dim), np.float32),
        ref_ids=[],
        attributes={},
        chunk_rows=64,
    )
    assert zarr.open_group(str(tmp_path / "f.zarr"))["features"].chunks == (64, dim)
    alphas = list(np.geomspace(1e-3, 1e3, 20))
    args = (tmp_path / "f.zarr", tmp_path / "table.csv", tmp_path / "splits.json")
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    local = ridge_on_store(*args, alphas=alphas)
    monkeypatch.setenv(SCHEDULER_ENV, cluster)
    monkeypatch.setattr(regress_stage, "DASK_BLOCK_ROWS", 128)  # 5 blocks of two Zarr chunks: a reduction tree
    with distributed.Client(cluster) as client, distributed.get_task_stream(client) as stream:
        remote = ridge_on_store(*args, alphas=alphas)
    assert len(stream.data) >= 5 * 4  # the workers ran the block tasks of every pass
    assert remote.alphas == local.alphas
    pd.testing.assert_frame_equal(remote.predictions, local.predictions, check_exact=False, atol=1e-9, rtol=0)
