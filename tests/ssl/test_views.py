"""Two-scale CONTRIQUE views, colour spaces and the seeded sampler."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from perceptflow.data.images import ImageReadError
from perceptflow.ssl import TrainSample
from perceptflow.ssl.colorspaces import COLOR_SPACES, gauss_window, to_mean_subtracted
from perceptflow.ssl.views import SeededSampler, TwoScaleViews, crop_or_pad, images_to_float


def _write(path: Path, pixels: np.ndarray) -> TrainSample:
    Image.fromarray(pixels).save(path)
    return TrainSample(path=path, label=2)


def test_views__one_full_scale_and_one_padded_half_scale(tmp_path: Path) -> None:
    # A 64 px image and a 64 px crop: the full view is the whole image, the half view 32 px zero-padded.
    sample = _write(tmp_path / "a.png", np.full((64, 64, 3), 200, np.uint8))
    dataset = TwoScaleViews([sample], crop_size=64, num_classes=4)
    view_a, view_b, label = dataset[(0, 123)]
    assert view_a.shape == view_b.shape == (3, 64, 64) and view_a.dtype == torch.uint8
    torch.testing.assert_close(label, torch.tensor([0.0, 0.0, 1.0, 0.0]))
    borders = sorted(int(view[:, :16].sum() == 0) for view in (view_a, view_b))
    assert borders == [0, 1], "exactly one view is the padded half-scale copy"


def test_views__same_seed_same_views_and_seeds_vary_them(tiny_samples: list[TrainSample]) -> None:
    dataset = TwoScaleViews(tiny_samples, crop_size=32, color_views=True)
    first, again = dataset[(5, 42)], dataset[(5, 42)]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    others = [dataset[(5, seed)][0] for seed in range(6)]
    assert len({view.numpy().tobytes() for view in others}) > 1
    assert dataset.num_classes == 3


def test_views__unreadable_image_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.png"
    path.write_text("not an image")
    with pytest.raises(ImageReadError, match=r"broken\.png"):
        TwoScaleViews([TrainSample(path, 0)], crop_size=32)[0]


def test_views__num_classes_must_cover_labels(tmp_path: Path) -> None:
    sample = _write(tmp_path / "a.png", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="num_classes=2 but the samples hold label 2"):
        TwoScaleViews([sample], crop_size=32, num_classes=2)


def test_crop_or_pad__random_crop_inside_and_centre_pad_when_small() -> None:
    rng = np.random.default_rng(0)
    image = Image.fromarray(np.arange(40 * 50 * 3, dtype=np.uint32).reshape(40, 50, 3).astype(np.uint8))
    assert crop_or_pad(image, 32, rng).size == (32, 32)
    small = crop_or_pad(Image.new("RGB", (20, 40), (9, 9, 9)), 32, rng)
    pixels = np.asarray(small)
    assert pixels.shape == (32, 32, 3) and pixels[:, :6].max() == 0 and pixels[:, 6:26].min() == 9


def test_images_to_float__scales_uint8_only() -> None:
    torch.testing.assert_close(images_to_float(torch.tensor([0, 255], dtype=torch.uint8)), torch.tensor([0.0, 1.0]))
    floats = torch.rand(3)
    assert images_to_float(floats) is floats


def test_color_spaces__known_values() -> None:
    red = Image.new("RGB", (8, 8), (255, 0, 0))
    white = Image.new("RGB", (8, 8), (255, 255, 255))
    assert list(COLOR_SPACES) == ["gray", "lab", "hsv", "mean_subtracted", "rgb"]
    assert np.asarray(COLOR_SPACES["gray"](red))[0, 0].tolist() == [76, 76, 76]
    assert np.asarray(COLOR_SPACES["hsv"](red))[0, 0].tolist() == [0, 255, 255]
    assert np.asarray(COLOR_SPACES["lab"](white))[0, 0].tolist() == [255, 128, 128], "neutral: a = b = 128"
    green = np.asarray(COLOR_SPACES["lab"](Image.new("RGB", (8, 8), (0, 255, 0))))[0, 0]
    assert green[1] < 128 < np.asarray(COLOR_SPACES["lab"](red))[0, 0, 1], "a: negative for green, positive red"
    assert COLOR_SPACES["rgb"](red) is red
    assert all(np.asarray(f(red)).shape == (8, 8, 3) for f in COLOR_SPACES.values())


def test_mean_subtracted__flat_is_zero_and_edges_span_range() -> None:
    window = gauss_window()
    assert window.shape == (7,) and window.sum() == pytest.approx(1.0)
    assert np.asarray(to_mean_subtracted(Image.new("RGB", (16, 16), (90, 90, 90)))).max() == 0
    step = np.zeros((16, 16, 3), np.uint8)
    step[:, 8:] = 255
    out = np.asarray(to_mean_subtracted(Image.fromarray(step)))
    assert out.min() == 0 and out.max() >= 254


def test_sampler__same_generator_state_same_epoch(tiny_samples: list[TrainSample]) -> None:
    first = list(SeededSampler(24, torch.Generator().manual_seed(3)))
    second = list(SeededSampler(24, torch.Generator().manual_seed(3)))
    assert first == second
    assert sorted(index for index, _ in first) == list(range(24))


def test_loader__workers_do_not_change_batches(tiny_samples: list[TrainSample]) -> None:
    dataset = TwoScaleViews(tiny_samples[:8], crop_size=32, color_views=True)

    def batches(workers: int) -> list[torch.Tensor]:
        sampler = SeededSampler(len(dataset), torch.Generator().manual_seed(0))
        return [b[0] for b in DataLoader(dataset, batch_size=4, sampler=sampler, num_workers=workers)]

    assert all(torch.equal(a, b) for a, b in zip(batches(0), batches(2), strict=True))
