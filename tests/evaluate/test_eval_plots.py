"""Plots are written as PNG files, with and without per-type colours."""

import numpy as np
import pytest
from PIL import Image

from perceptflow.evaluate import plot_bars, plot_scatter


def test_plot_scatter__writes_png_with_hue(tmp_path):
    rng = np.random.default_rng(0)
    target = rng.normal(size=30)
    path = tmp_path / "plots" / "scatter.png"
    plot_scatter(target + rng.normal(size=30), target, path, title="t", hue=["blur", "noise", "jpeg"] * 10)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] > 100


def test_plot_scatter__hue_length_mismatch_raises(tmp_path):
    with pytest.raises(ValueError, match="2 labels for 3 points"):
        plot_scatter([1, 2, 3], [1, 2, 3], tmp_path / "s.png", title="t", hue=["a", "b"])


def test_plot_bars__writes_png_and_rejects_empty(tmp_path):
    values = {"blur": 0.9, "noise": -0.2, "jpeg": float("nan")}
    plot_bars(values, tmp_path / "bars.png", title="SRCC per type")
    with Image.open(tmp_path / "bars.png") as image:
        assert image.format == "PNG"
    with pytest.raises(ValueError, match="no values"):
        plot_bars({}, tmp_path / "empty.png", title="nothing")
