"""Streaming extraction: chunked writes, resume after a kill to a bitwise-identical store, extra per-row arrays."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from perceptflow.data.datasets import DatasetTable
from perceptflow.features import extract as extract_module
from perceptflow.features.extract import RowOutput, encode_images, extract_dataset
from perceptflow.features.partial import PartialStore
from perceptflow.features.store import read_feature_store
from perceptflow.models import build_encoder
from perceptflow.models.encoder_file import save_encoder


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[DatasetTable, Path]:
    """30 distorted images of two sizes over 3 references, and a tiny random encoder file."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    rows = []
    for i in range(30):
        ref = f"r{i % 3}"
        size = (32, 32) if i % 4 else (40, 32)
        path = root / f"d{i}.png"
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(path)
        ref_path = root / f"{ref}_{size[0]}.png"
        if not ref_path.exists():
            Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(ref_path)
        rows.append({"image_id": f"d{i}", "path": str(path), "ref_id": f"{ref}_{size[0]}", "ref_path": str(ref_path),
                     "target": float(i), "dist_type": "noise"})  # fmt: skip
    encoder = root / "encoder.pt"
    save_encoder(build_encoder("resnet18", seed=0), encoder, method="random_init")
    return DatasetTable("tiny", pd.DataFrame(rows), "level", False), encoder


def extract(table: DatasetTable, encoder: Path, out: Path, **kwargs: object) -> dict:
    defaults = {"batch_size": 4, "device": torch.device("cpu"), "chunk_rows": 8, "decode_workers": 0}
    return extract_dataset(table, encoder_path=encoder, out=out, **{**defaults, **kwargs})  # type: ignore[arg-type]


def store_bytes(path: Path) -> dict[str, bytes]:
    return {str(f.relative_to(path)): f.read_bytes() for f in sorted(path.rglob("*")) if f.is_file()}


def test_extract__killed_run_resumes_to_a_bitwise_identical_store(
    dataset: tuple[DatasetTable, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table, encoder = dataset
    extract(table, encoder, tmp_path / "whole.zarr", partial_dir=tmp_path / "p1")

    write_chunk, written = PartialStore.write_chunk, []

    def dies_after_three(self: PartialStore, chunk: int, values: dict) -> None:
        if len(written) == 3:  # 1 reference chunk + 2 of the 4 image chunks
            raise KeyboardInterrupt("killed")
        written.append(chunk)
        write_chunk(self, chunk, values)

    monkeypatch.setattr(PartialStore, "write_chunk", dies_after_three)
    with pytest.raises(KeyboardInterrupt):
        extract(table, encoder, tmp_path / "resumed.zarr", partial_dir=tmp_path / "p2")
    (progress,) = (tmp_path / "p2").glob("*/progress.json")
    assert json.loads(progress.read_text())["chunks"] == {"features": 2, "ref_features": 1}
    assert not (tmp_path / "resumed.zarr").exists()

    monkeypatch.setattr(PartialStore, "write_chunk", write_chunk)
    encoded = []
    features = extract_module._features
    monkeypatch.setattr(
        extract_module, "_features", lambda e, images, rows=None: encoded.append(len(images)) or features(e, images)
    )
    extract(table, encoder, tmp_path / "resumed.zarr", partial_dir=tmp_path / "p2")
    assert sum(encoded) == 30 - 16  # only the two missing image chunks were encoded again
    assert store_bytes(tmp_path / "resumed.zarr") == store_bytes(tmp_path / "whole.zarr")
    assert not list((tmp_path / "p2").iterdir())


def test_extract__store_matches_in_memory_features_and_keeps_extra_arrays(
    dataset: tuple[DatasetTable, Path], tmp_path: Path
) -> None:
    table, encoder = dataset
    mean = RowOutput(shape=(), compute=lambda images, rows: images.mean(dim=(1, 2, 3)).cpu().numpy())
    summary = extract(table, encoder, tmp_path / "s.zarr", extras={"fr/mean": mean})
    assert summary["shape"] == [30, 1024]
    store = read_feature_store(tmp_path / "s.zarr")
    model, _ = extract_module.load_encoder(encoder)
    expected = encode_images(model, list(table.frame["path"]), batch_size=4, device=torch.device("cpu"))
    np.testing.assert_allclose(store.features, expected, atol=1e-5)
    assert list(store.image_ids) == list(table.frame["image_id"])
    assert list(store.ref_ids) == list(table.references()["ref_id"])
    import zarr

    values = zarr.open_group(str(tmp_path / "s.zarr"), mode="r")["fr/mean"][:]
    pixels = [np.asarray(Image.open(p), dtype=np.float32).mean() / 255 for p in table.frame["path"]]
    np.testing.assert_allclose(values, pixels, rtol=1e-5)


def test_extract__changed_settings_start_afresh_and_clear_the_stale_partial(
    dataset: tuple[DatasetTable, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table, encoder = dataset
    monkeypatch.setattr(PartialStore, "write_chunk", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        extract(table, encoder, tmp_path / "s.zarr", partial_dir=tmp_path / "p", batch_size=2)
    assert len(list((tmp_path / "p").iterdir())) == 1
    monkeypatch.undo()
    extract(table, encoder, tmp_path / "s.zarr", partial_dir=tmp_path / "p")
    assert read_feature_store(tmp_path / "s.zarr").features.shape == (30, 1024)
    assert not list((tmp_path / "p").iterdir())
