"""The decoded-image cache: pixels equal the files', reused while the bank is unchanged, rebuilt when it changes, never
required (mixed sizes, an unwritable folder, switched off), and training reads it into the same weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from perceptflow.data.decoded import CACHE_SWITCH, decoded_images
from perceptflow.data.images import load_rgb
from perceptflow.ssl import METHODS, TrainConfig, TrainSample
from perceptflow.ssl.training import train_from_manifest


def test_pixels_equal_the_files_and_the_cache_is_reused_until_the_bank_changes(
    tiny_samples: list[TrainSample], tmp_path: Path
) -> None:
    paths = [s.path for s in tiny_samples]
    cache = tmp_path / "cache"
    decoded = decoded_images(paths, cache)
    assert decoded is not None and len(decoded) == len(paths)
    for path in paths:
        np.testing.assert_array_equal(decoded.read(path), load_rgb(path))
    (first,) = cache.glob("*.npy")
    assert 0 <= first.stat().st_size - len(paths) * load_rgb(paths[0]).size <= 4096  # pixels + the .npy header
    built = first.stat().st_mtime_ns
    again = decoded_images(paths, cache)
    assert again is not None and again.path == first and first.stat().st_mtime_ns == built, "reused, not rebuilt"

    copies = tmp_path / "bank"
    copies.mkdir()
    changed = []
    for index, path in enumerate(paths):
        image = load_rgb(path)
        if index == 0:
            image = 255 - image  # the bank was rebuilt: one image differs
        Image.fromarray(image).save(copies / path.name)
        changed.append(copies / path.name)
    rebuilt = decoded_images(changed, cache)
    assert rebuilt is not None and rebuilt.path != first and not first.exists(), "the old bank's file is removed"
    assert not first.with_suffix(".lock").exists() and rebuilt.path.with_suffix(".lock").exists()
    np.testing.assert_array_equal(rebuilt.read(changed[0]), 255 - load_rgb(paths[0]))


def test_no_cache_for_mixed_sizes_an_unwritable_folder_or_when_switched_off(
    tiny_samples: list[TrainSample], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = [s.path for s in tiny_samples[:3]]
    odd = tmp_path / "odd.png"
    Image.fromarray(np.zeros((40, 48, 3), dtype=np.uint8)).save(odd)
    assert decoded_images([*paths, odd], tmp_path / "mixed") is None
    assert not list((tmp_path / "mixed").glob("*.npy")), "no partial file left"
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert decoded_images(paths, blocker / "cache") is None
    monkeypatch.setenv(CACHE_SWITCH, "off")
    assert decoded_images(paths, tmp_path / "off") is None and not (tmp_path / "off").exists()


@pytest.mark.parametrize("method", ["contrique", "simclr"])
def test_training_from_the_cache_gives_the_same_weights(
    method: str, tiny_samples: list[TrainSample], tmp_path: Path
) -> None:
    folder = tiny_samples[0].path.parent
    rows = [{"path": str(s.path.relative_to(folder)), "class_label": s.label} for s in tiny_samples[:8]]
    manifest = folder / f"manifest_{method}.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    config = TrainConfig(epochs=2, batch_size=4, crop_size=32, lr=0.3, seed=0)
    torch.set_num_threads(1)
    weights = {}
    for name, cache in (("files", None), ("cache", tmp_path / "cache")):
        out = tmp_path / name / "encoder.pt"
        train_from_manifest(
            METHODS[method], config, manifest, checkpoint_dir=tmp_path / name / "ckpt", encoder_out=out, threads=1,
            decoded_cache=cache,
        )  # fmt: skip
        weights[name] = torch.load(out, weights_only=True)["state_dict"]
    assert list((tmp_path / "cache").glob("*.npy")), "the cache was used"
    for key, value in weights["files"].items():
        assert torch.equal(value, weights["cache"][key]), key
