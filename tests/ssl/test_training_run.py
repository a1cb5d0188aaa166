"""Tiny CONTRIQUE runs on CPU: the loss falls, runs are reproducible, checkpoints resume exactly."""

from __future__ import annotations

import shutil
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest
import torch

from perceptflow.models import load_encoder
from perceptflow.ssl import TrainConfig, TrainSample, train_contrique

CONFIG = TrainConfig(epochs=4, batch_size=8, crop_size=32, lr=0.6, seed=0)
ROW_KEYS = {"epoch", "loss", "lr", "seconds", "images_per_s", "data_wait_fraction"}


class KilledError(Exception):
    """Stands in for a killed job."""


def _train(samples: list[TrainSample], config: TrainConfig, root: Path, **kwargs: Any) -> list[dict[str, Any]]:
    options = {"device": torch.device("cpu"), "threads": 1, **kwargs}  # CPU: bitwise reproducible
    return train_contrique(samples, config, checkpoint_dir=root / "ckpt", encoder_out=root / "encoder.pt", **options)


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["state_dict"]


def _same_weights(a: Path, b: Path) -> bool:
    first, second = _weights(a), _weights(b)
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


@pytest.fixture(scope="module")
def reference(tiny_samples: list[TrainSample], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    """One uninterrupted 4-epoch run, shared by the tests below."""
    root = tmp_path_factory.mktemp("reference")
    return root, _train(tiny_samples, CONFIG, root)


def test_train__loss_falls_and_encoder_file_records_the_run(reference: tuple[Path, list]) -> None:
    root, history = reference
    assert [row["epoch"] for row in history] == [1, 2, 3, 4]
    assert all(set(row) == ROW_KEYS for row in history)
    assert history[-1]["loss"] < history[0]["loss"], [row["loss"] for row in history]
    assert all(row["images_per_s"] > 0 and 0 <= row["data_wait_fraction"] < 1 for row in history)
    encoder, payload = load_encoder(root / "encoder.pt")
    assert encoder.arch == "resnet18" and payload["method"] == "contrique"
    assert payload["metadata"] == {"config": asdict(CONFIG), "history": history, "continued_from": None}
    assert torch.load(root / "ckpt" / "last.pt", weights_only=True)["epoch"] == 4


def test_train__resumed_run_equals_uninterrupted_run(
    tiny_samples: list[TrainSample], reference: tuple[Path, list], tmp_path: Path
) -> None:
    def stop_after_epoch_3(row: dict[str, Any]) -> None:
        if row["epoch"] == 3:
            raise KilledError

    with pytest.raises(KilledError):
        _train(tiny_samples, CONFIG, tmp_path, on_epoch=stop_after_epoch_3)
    assert not (tmp_path / "encoder.pt").exists()
    seen: list[int] = []
    history = _train(tiny_samples, CONFIG, tmp_path, on_epoch=lambda row: seen.append(row["epoch"]))
    assert seen == [4], "only the missing epoch is trained"
    assert [row["epoch"] for row in history] == [1, 2, 3, 4]
    assert [row["loss"] for row in history] == [row["loss"] for row in reference[1]], "exact"
    assert _same_weights(tmp_path / "encoder.pt", reference[0] / "encoder.pt"), "bitwise equal weights"


def test_train__more_epochs_continue_a_finished_run_only_when_asked(
    reference: tuple[Path, list], tmp_path: Path, tiny_samples: list[TrainSample]
) -> None:
    shutil.copytree(reference[0] / "ckpt", tmp_path / "ckpt")
    with pytest.raises(ValueError, match=r"epochs: 4 -> 5.*continue_from_checkpoint"):
        _train(tiny_samples, replace(CONFIG, epochs=5), tmp_path)
    history = _train(tiny_samples, replace(CONFIG, epochs=5, continue_from_checkpoint=True), tmp_path)
    assert [row["epoch"] for row in history] == [1, 2, 3, 4, 5]
    assert history[:4] == reference[1]
    _, payload = load_encoder(tmp_path / "encoder.pt")
    assert payload["metadata"]["continued_from"] == {"epochs": 4, "epoch": 4}
    assert payload["metadata"]["config"]["continue_from_checkpoint"] is True


def test_train__finished_checkpoint_only_rewrites_the_encoder(
    tiny_samples: list[TrainSample], reference: tuple[Path, list], tmp_path: Path
) -> None:
    shutil.copytree(reference[0] / "ckpt", tmp_path / "ckpt")
    seen: list[dict] = []
    history = _train(tiny_samples, CONFIG, tmp_path, on_epoch=seen.append)
    assert seen == [] and history == reference[1]
    assert _same_weights(tmp_path / "encoder.pt", reference[0] / "encoder.pt")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lr": 0.1}, r"different train config \(lr: 0.6 -> 0.1\)"),
        ({"epochs": 3}, r"epochs: 4 -> 3"),
        ({"epochs": 3, "continue_from_checkpoint": True}, "it holds 4 epochs, more than train.epochs=3"),
    ],
)
def test_train__incompatible_checkpoint_is_refused_naming_file_and_keys(
    tiny_samples: list[TrainSample], reference: tuple[Path, list], tmp_path: Path, changes: dict, message: str
) -> None:
    shutil.copytree(reference[0] / "ckpt", tmp_path / "ckpt")
    with pytest.raises(ValueError, match=message) as error:
        _train(tiny_samples, replace(CONFIG, **changes), tmp_path)
    assert str(tmp_path / "ckpt" / "last.pt") in str(error.value)


def test_train__checkpoint_of_other_data_is_refused(
    tiny_samples: list[TrainSample], reference: tuple[Path, list], tmp_path: Path
) -> None:
    shutil.copytree(reference[0] / "ckpt", tmp_path / "ckpt")
    with pytest.raises(ValueError, match=r"last\.pt: it was trained on other data \(24 samples.*now 12 samples"):
        _train(tiny_samples[:12], CONFIG, tmp_path)


def test_train__two_identical_runs_are_bitwise_equal(tiny_samples: list[TrainSample], tmp_path: Path) -> None:
    config = replace(CONFIG, epochs=2, color_views=True)
    first = _train(tiny_samples[:12], config, tmp_path / "a")
    second = _train(tiny_samples[:12], config, tmp_path / "b")
    assert [row["loss"] for row in first] == [row["loss"] for row in second]
    assert _same_weights(tmp_path / "a" / "encoder.pt", tmp_path / "b" / "encoder.pt")


def test_train__small_set_is_one_batch_and_bad_sets_are_refused(
    tiny_samples: list[TrainSample], tmp_path: Path
) -> None:
    history = _train(tiny_samples[:3], replace(CONFIG, epochs=1), tmp_path / "three")
    assert history[0]["images_per_s"] > 0 and len(history) == 1
    with pytest.raises(ValueError, match="training needs at least 2 images, got 1"):
        _train(tiny_samples[:1], CONFIG, tmp_path / "one")
    with pytest.raises(FileNotFoundError, match=r"1 training image\(s\) not found, e\.g\. .*gone\.png"):
        _train([*tiny_samples[:2], TrainSample(tmp_path / "gone.png", 0)], CONFIG, tmp_path / "missing")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_train__cuda_with_amp_and_workers(tiny_samples: list[TrainSample], tmp_path: Path) -> None:
    config = replace(CONFIG, epochs=2, num_workers=2, color_views=True)
    history = _train(tiny_samples, config, tmp_path, device=None)
    assert [row["epoch"] for row in history] == [1, 2] and all(row["loss"] > 0 for row in history)
    state = torch.load(tmp_path / "ckpt" / "last.pt", weights_only=True)
    assert state["scaler"]["scale"] > 0, "GradScaler state is checkpointed"
    encoder, _ = load_encoder(tmp_path / "encoder.pt")
    assert next(encoder.parameters()).device.type == "cpu"
