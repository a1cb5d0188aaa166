"""Encoder files: weights_only round trip and clear errors naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from perceptflow.models import (
    ENCODER_FORMAT,
    EncoderFileError,
    build_encoder,
    load_encoder,
    pooled_features,
    save_encoder,
)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.nn.Module]:
    encoder = build_encoder("resnet18", seed=5)
    with torch.no_grad():  # make BN running statistics non-trivial so they must round-trip too
        encoder.train()(torch.rand(4, 3, 64, 64))
    path = tmp_path_factory.mktemp("encoder") / "sub" / "encoder.pt"
    save_encoder(encoder, path, method="contrique", metadata={"config": {"lr": 0.1}, "history": [{"loss": 1.5}]})
    return path, encoder


def test_save_load__round_trip_gives_identical_features(saved: tuple[Path, torch.nn.Module]) -> None:
    path, encoder = saved
    loaded, payload = load_encoder(path)
    images = torch.rand(2, 3, 64, 64)
    assert not loaded.training
    assert torch.equal(pooled_features(loaded, images), pooled_features(encoder, images)), "exact"
    assert payload == {
        "format": ENCODER_FORMAT,
        "arch": "resnet18",
        "feature_dim": 512,
        "method": "contrique",
        "metadata": {"config": {"lr": 0.1}, "history": [{"loss": 1.5}]},
    }


def test_save__file_loads_with_weights_only_and_leaves_no_temporaries(saved: tuple[Path, object]) -> None:
    path, _ = saved
    payload = torch.load(path, weights_only=True)
    assert payload["format"] == ENCODER_FORMAT and "trunk.conv1.weight" in payload["state_dict"]
    assert [p.name for p in path.parent.iterdir()] == ["encoder.pt"]


def test_save__rejects_metadata_that_weights_only_cannot_load(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"metadata\['when'\] is a object"):
        save_encoder(build_encoder(), tmp_path / "e.pt", method="x", metadata={"when": object()})


def test_load__missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"encoder file not found: .*nothing\.pt"):
        load_encoder(tmp_path / "nothing.pt")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"format": "other/1"}, "is not a perceptflow encoder: format is 'other/1'"),
        ({"state_dict": {}}, "is not a perceptflow encoder: format is None"),
        ([1, 2], "is not a perceptflow encoder: format is 'list'"),
    ],
)
def test_load__wrong_format_names_file(tmp_path: Path, payload: object, message: str) -> None:
    path = tmp_path / "wrong.pt"
    torch.save(payload, path)
    with pytest.raises(EncoderFileError, match=message) as error:
        load_encoder(path)
    assert str(path) in str(error.value)


def test_load__not_a_torch_file_names_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.pt"
    path.write_text("hello")
    with pytest.raises(EncoderFileError, match=r"notes\.pt is not a perceptflow encoder file"):
        load_encoder(path)


def test_load__arch_mismatch_names_file_and_keys(saved: tuple[Path, object], tmp_path: Path) -> None:
    payload = torch.load(saved[0], weights_only=True)
    payload["arch"] = "resnet34"
    path = tmp_path / "mismatch.pt"
    torch.save(payload, path)
    with pytest.raises(EncoderFileError, match=r"mismatch.pt: weights do not match a resnet34 encoder: .*missing"):
        load_encoder(path)


def test_load__shape_mismatch_names_the_tensor(saved: tuple[Path, object], tmp_path: Path) -> None:
    payload = torch.load(saved[0], weights_only=True)
    payload["state_dict"]["trunk.conv1.weight"] = torch.zeros(8, 3, 7, 7)
    path = tmp_path / "shape.pt"
    torch.save(payload, path)
    with pytest.raises(EncoderFileError, match=r"shape.pt: .*trunk.conv1.weight: shape \(8, 3, 7, 7\) in file"):
        load_encoder(path)
