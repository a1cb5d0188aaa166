"""Checkpoints are keyed by the whole schedule: raising ``epochs`` trains fresh unless continuing is asked for."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import torch

from perceptflow.models import load_encoder
from perceptflow.ssl import METHODS, TrainConfig, TrainSample
from perceptflow.ssl.training import checkpoint_key, schedule_family, train_from_manifest

CONFIG = TrainConfig(epochs=4, batch_size=6, crop_size=32, lr=0.6, seed=0)


def _manifest(samples: list[TrainSample], folder: Path) -> Path:
    """A distort-style manifest over the first 6 tiny samples (paths relative to the manifest)."""
    rows = [{"path": str(s.path.relative_to(folder)), "class_label": s.label} for s in samples[:6]]
    path = folder / "manifest.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _train(manifest: Path, config: TrainConfig, root: Path) -> list[dict]:
    torch.set_num_threads(1)
    return train_from_manifest(
        METHODS["contrique"], config, manifest, checkpoint_dir=root / "ckpt", encoder_out=root / "encoder.pt", threads=1
    )


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["state_dict"]


@pytest.fixture(scope="module")
def manifest(tiny_samples: list[TrainSample]) -> Path:
    return _manifest(tiny_samples, tiny_samples[0].path.parent)


def test_checkpoint_key_holds_the_schedule(manifest: Path, tiny_samples: list[TrainSample]) -> None:
    samples = tiny_samples[:6]
    key = checkpoint_key("contrique", CONFIG, samples)
    for change in ({"epochs": 10}, {"lr": 0.3}, {"warmup_fraction": 0.2}, {"batch_size": 4}):
        assert checkpoint_key("contrique", replace(CONFIG, **change), samples) != key, change
    assert checkpoint_key("contrique", replace(CONFIG, num_workers=2), samples) == key
    assert schedule_family("contrique", replace(CONFIG, epochs=10), samples) == schedule_family(
        "contrique", CONFIG, samples
    )


def test_raising_epochs_equals_a_fresh_run_bit_for_bit_and_continuing_is_opt_in(manifest: Path, tmp_path: Path) -> None:
    longer = replace(CONFIG, epochs=10)
    _train(manifest, CONFIG, tmp_path / "grown")
    grown = _train(manifest, longer, tmp_path / "grown")
    fresh = _train(manifest, longer, tmp_path / "fresh")
    assert [row["loss"] for row in grown] == [row["loss"] for row in fresh]
    assert [row["lr"] for row in grown] == [row["lr"] for row in fresh]
    first, second = _weights(tmp_path / "grown" / "encoder.pt"), _weights(tmp_path / "fresh" / "encoder.pt")
    assert all(torch.equal(first[k], second[k]) for k in first), "a grown run equals a fresh one"
    _, payload = load_encoder(tmp_path / "grown" / "encoder.pt")
    assert payload["metadata"]["continued_from"] is None and payload["metadata"]["config"]["epochs"] == 10

    # Opt-in: a finished 4-epoch run is continued (6 more epochs under the 10-epoch schedule) and says so.
    short = _train(manifest, CONFIG, tmp_path / "continued")
    continued = _train(manifest, replace(longer, continue_from_checkpoint=True), tmp_path / "continued")
    assert continued[:4] == short, "the finished run's epochs are kept, not retrained"
    assert continued[4]["lr"] > short[-1]["lr"], "the longer schedule's learning rate applies from epoch 5"
    _, payload = load_encoder(tmp_path / "continued" / "encoder.pt")
    assert payload["metadata"]["continued_from"] == {"epochs": 4, "epoch": 4}
    assert payload["metadata"]["config"]["continue_from_checkpoint"] is True
    assert len(list((tmp_path / "continued" / "ckpt").iterdir())) == 1, "the shorter run's folder is removed"
