"""Sliding-window volume features: window grid, padding, averaging, the Zarr store, errors."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from perceptflow.data.datasets import DatasetTable
from perceptflow.data.volumes.nifti import NiftiReadError
from perceptflow.features.store import read_feature_store
from perceptflow.features.volumes.extract import (
    WindowSpec,
    encode_volume,
    encode_volume_files,
    encode_volumes,
    extract_volume_dataset,
    pad_to_multiple,
    window_grid,
    window_starts,
)
from perceptflow.models.volumes import build_volume_encoder, save_volume_encoder


class MomentEncoder(nn.Module):
    """A transparent stand-in: features are the window's mean, its sum / 1000 and its side along axis 0."""

    multiple = 4
    feature_dim = 3

    def __init__(self) -> None:
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(1))  # gives the module a device
        self.shapes: list[tuple[int, ...]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.shapes.append(tuple(x.shape))
        flat = x.flatten(1)
        side = torch.full((x.shape[0],), float(x.shape[2]))
        return torch.stack([flat.mean(1), flat.sum(1) / 1000.0, side], dim=1)


def test_window_starts_cover_the_axis_and_end_at_the_border() -> None:
    assert window_starts(16, 16, 8) == [0]
    assert window_starts(10, 16, 8) == [0]
    assert window_starts(20, 8, 6) == [0, 6, 12]
    assert window_starts(21, 8, 6) == [0, 6, 12, 13]
    assert window_starts(32, 16, 16) == [0, 16]
    with pytest.raises(ValueError, match=r"positive"):
        window_starts(0, 8, 4)


def test_window_grid_counts_and_sides() -> None:
    sides, corners = window_grid((32, 20, 10), WindowSpec(window=16, stride=16, batch_size=2))
    assert sides == (16, 16, 10)
    assert len(corners) == 2 * 2 * 1
    assert corners[0] == (0, 0, 0) and corners[-1] == (16, 4, 0)


def test_pad_to_multiple_pads_zeros_at_the_far_end() -> None:
    block = np.ones((5, 8, 3), dtype=np.float32)
    padded = pad_to_multiple(block, 4)
    assert padded.shape == (8, 8, 4)
    assert padded.sum() == block.sum() and padded[:5, :, :3].min() == 1.0 and padded[5:].max() == 0.0
    assert pad_to_multiple(padded, 4) is padded


def test_single_window_equals_the_encoder_on_the_whole_volume() -> None:
    torch.manual_seed(0)
    encoder = build_volume_encoder((4, 8), seed=1).eval()
    volume = np.random.default_rng(0).random((16, 16, 16), dtype=np.float32)
    feature = encode_volume(encoder, volume, WindowSpec(window=16, stride=8, batch_size=2))
    with torch.inference_mode():
        direct = encoder(torch.from_numpy(volume)[None, None])[0].numpy()
    assert feature.shape == (encoder.feature_dim,) and feature.dtype == np.float32
    np.testing.assert_allclose(feature, direct, rtol=1e-5, atol=1e-6)


def test_windows_are_averaged_and_batched() -> None:
    encoder = MomentEncoder()
    volume = np.arange(16**3, dtype=np.float32).reshape(16, 16, 16) / 16**3
    feature = encode_volume(encoder, volume, WindowSpec(window=8, stride=8, batch_size=3))
    octants = [volume[z : z + 8, y : y + 8, x : x + 8] for z in (0, 8) for y in (0, 8) for x in (0, 8)]
    np.testing.assert_allclose(feature[0], np.mean([o.mean() for o in octants]), rtol=1e-6)
    assert [s[0] for s in encoder.shapes] == [3, 3, 2]  # eight windows in batches of three
    assert all(s[1:] == (1, 8, 8, 8) for s in encoder.shapes)


def test_windows_of_consecutive_volumes_share_batches() -> None:
    encoder = MomentEncoder()
    rng = np.random.default_rng(1)
    volumes = [rng.random((8, 8, 8), dtype=np.float32) for _ in range(3)] + [np.ones((12, 8, 8), dtype=np.float32)]
    spec = WindowSpec(window=16, stride=8, batch_size=2)
    features = encode_volumes(encoder, iter(volumes), spec)
    # two 8^3 windows per pass, then the third 8^3 alone (the next window is 12 x 8 x 8), then the 12 x 8 x 8 one
    assert [s[:3] for s in encoder.shapes] == [(2, 1, 8), (1, 1, 8), (1, 1, 12)]
    assert features.shape == (4, 3)
    for volume, feature in zip(volumes, features, strict=True):
        np.testing.assert_allclose(feature, encode_volume(MomentEncoder(), volume, spec), rtol=1e-6)
    assert encode_volumes(encoder, [], spec).shape == (0, 3)
    with pytest.raises(ValueError, match=r"b\.nii\.gz: needs a non-empty 3D"):
        encode_volumes(encoder, [volumes[0], np.ones((4, 4))], spec, names=["a.nii.gz", "b.nii.gz"])


def test_short_sides_are_padded_to_the_encoder_multiple() -> None:
    encoder = MomentEncoder()
    volume = np.ones((10, 12, 9), dtype=np.float32)
    feature = encode_volume(encoder, volume, WindowSpec(window=16, stride=8, batch_size=4))
    assert encoder.shapes == [(1, 1, 12, 12, 12)]
    np.testing.assert_allclose(feature, [10 * 12 * 9 / 12**3, 10 * 12 * 9 / 1000, 12.0], rtol=1e-6)


def test_errors_name_the_problem() -> None:
    encoder = MomentEncoder()
    spec = WindowSpec(window=8, stride=8, batch_size=1)
    with pytest.raises(ValueError, match=r"3D"):
        encode_volume(encoder, np.ones((8, 8), dtype=np.float32), spec)
    with pytest.raises(ValueError, match=r"NaN/Inf"):
        encode_volume(encoder, np.full((8, 8, 8), np.nan, dtype=np.float32), spec)
    with pytest.raises(TypeError, match=r"not a volume encoder"):
        encode_volume(nn.Linear(2, 2), np.ones((8, 8, 8), dtype=np.float32), spec)
    with pytest.raises(ValueError, match=r"volumes.extract.stride"):
        WindowSpec(window=8, stride=9)
    with pytest.raises(ValueError, match=r"volumes.extract.batch_size"):
        WindowSpec(batch_size=0)
    with pytest.raises(ValueError, match=r"unknown key"):
        WindowSpec.from_config({"window": 8, "size": 3})
    with pytest.raises(NiftiReadError, match=r"not found: /nowhere.nii.gz"):
        encode_volume_files(encoder, ["/nowhere.nii.gz"], spec)


def _write_volume(path: Path, data: np.ndarray) -> str:
    nib.save(nib.Nifti1Image(data.astype(np.float32), np.eye(4)), path)
    return str(path)


def test_extract_volume_dataset_writes_a_2d_compatible_store(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    ref = _write_volume(tmp_path / "ref.nii.gz", rng.random((12, 16, 8)))
    dists = [_write_volume(tmp_path / f"d{i}.nii.gz", rng.random((12, 16, 8))) for i in range(3)]
    frame = pd.DataFrame(
        {
            "image_id": ["a", "b", "c"],
            "path": dists,
            "ref_id": "vol0",
            "ref_path": ref,
            "target": [1.0, 2.0, 3.0],
            "dist_type": "mri_blur",
        }
    )
    table = DatasetTable(name="vols", frame=frame, target_name="level", higher_is_better=False)
    encoder = build_volume_encoder((2, 4), seed=0)
    save_volume_encoder(encoder, tmp_path / "encoder.pt", method="contrastive3d")
    spec = WindowSpec(window=8, stride=8, batch_size=2)
    summary = extract_volume_dataset(
        table, encoder_path=tmp_path / "encoder.pt", out=tmp_path / "f.zarr", spec=spec, device=torch.device("cpu")
    )
    store = read_feature_store(tmp_path / "f.zarr")
    assert store.features.shape == (3, 6) and store.ref_features.shape == (1, 6)
    assert list(store.image_ids) == ["a", "b", "c"] and list(store.ref_ids) == ["vol0"]
    assert summary["shape"] == [3, 6]
    assert store.attributes["windows"] == {"window": 8, "stride": 8, "batch_size": 2}
    assert store.attributes["encoder"]["method"] == "contrastive3d"
    expected = encode_volume(encoder, nib.load(dists[1]).get_fdata(dtype=np.float32), spec)
    np.testing.assert_allclose(store.features[1], expected, rtol=1e-5, atol=1e-6)
