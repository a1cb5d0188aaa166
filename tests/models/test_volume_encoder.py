"""The 3D volume encoder: feature shape, seeded init, weights_only round trip, errors naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from perceptflow.models import EncoderFileError
from perceptflow.models.volumes import (
    VOLUME_ENCODER_FORMAT,
    VolumeEncoder,
    build_volume_encoder,
    load_volume_encoder,
    save_volume_encoder,
)

WIDTHS = (4, 8)


def test_forward__concatenates_pooled_global_and_local_maps() -> None:
    encoder = build_volume_encoder(WIDTHS, seed=0).eval()
    x = torch.rand(3, 1, 8, 12, 16)
    with torch.no_grad():
        features = encoder(x)
        f_global, f_local = encoder.unet(x)
    assert encoder.widths == WIDTHS and encoder.multiple == 2 and encoder.feature_dim == 12
    assert features.shape == (3, 12) and features.dtype == torch.float32
    torch.testing.assert_close(features[:, :8], f_global.mean(dim=(2, 3, 4)))
    torch.testing.assert_close(features[:, 8:], f_local.mean(dim=(2, 3, 4)))


def test_forward__bad_shape_names_the_multiple() -> None:
    with pytest.raises(ValueError, match="multiples of 4"):
        build_volume_encoder((4, 8, 16))(torch.rand(1, 1, 8, 8, 6))


def test_build__seed_fixes_weights_and_leaves_global_rng() -> None:
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = build_volume_encoder(WIDTHS, seed=7)
    after = torch.rand(1)
    b = build_volume_encoder(WIDTHS, seed=7)
    c = build_volume_encoder(WIDTHS, seed=8)
    assert torch.equal(before, after)
    for (key, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(va, vb), key
    assert any(not torch.equal(va, vc) for va, vc in zip(a.state_dict().values(), c.state_dict().values(), strict=True))


@pytest.fixture()
def saved(tmp_path: Path) -> tuple[Path, VolumeEncoder]:
    encoder = build_volume_encoder(WIDTHS, seed=3)
    path = tmp_path / "sub" / "encoder.pt"
    save_volume_encoder(encoder, path, method="gvsl", metadata={"config": {"crop": 16}, "history": [{"loss": 0.5}]})
    return path, encoder


def test_save_load__round_trip_with_weights_only(saved: tuple[Path, VolumeEncoder]) -> None:
    path, encoder = saved
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == VOLUME_ENCODER_FORMAT and raw["widths"] == [4, 8]
    loaded, info = load_volume_encoder(path)
    assert not loaded.training and "state_dict" not in info
    assert info["method"] == "gvsl" and info["feature_dim"] == 12 and info["metadata"]["config"] == {"crop": 16}
    x = torch.rand(2, 1, 8, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), encoder.eval()(x))


def test_save__rejects_non_plain_metadata(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="plain data"):
        save_volume_encoder(build_volume_encoder(WIDTHS), tmp_path / "e.pt", method="x", metadata={"a": object()})


def test_load__missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "absent.pt"
    with pytest.raises(FileNotFoundError, match=str(path)):
        load_volume_encoder(path)


def test_load__foreign_and_wrong_format_files_are_named(tmp_path: Path) -> None:
    text = tmp_path / "text.pt"
    text.write_text("not a checkpoint")
    with pytest.raises(EncoderFileError, match=f"{text} is not a perceptflow volume encoder"):
        load_volume_encoder(text)
    other = tmp_path / "other.pt"
    torch.save({"format": "perceptflow.encoder/1"}, other)
    with pytest.raises(EncoderFileError, match=r"format is 'perceptflow.encoder/1'"):
        load_volume_encoder(other)


def test_load__mismatched_weights_are_named(saved: tuple[Path, VolumeEncoder], tmp_path: Path) -> None:
    path, _ = saved
    payload = torch.load(path, weights_only=True)
    payload["widths"] = [4, 16]
    bad = tmp_path / "bad.pt"
    torch.save(payload, bad)
    with pytest.raises(EncoderFileError, match=rf"{bad}: weights do not match .*shape"):
        load_volume_encoder(bad)
    del payload["state_dict"]
    torch.save(payload, bad)
    with pytest.raises(EncoderFileError, match=r"keys \['state_dict'\] are missing"):
        load_volume_encoder(bad)
