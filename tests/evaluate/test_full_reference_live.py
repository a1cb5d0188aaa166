"""Full-reference baselines: luminance, PSNR/SSIM, and the published LIVE JPEG numbers (data README)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from perceptflow.evaluate import full_reference_baselines, luma, psnr_luma, ssim_luma, summarize_zero_shot
from perceptflow.regress import content_splits

LIVE = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "live-jpeg-dev"


@pytest.fixture
def rgb_pair() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 256, size=(24, 32, 3), dtype=np.uint8)
    noise = rng.integers(-20, 21, size=ref.shape)
    return ref, np.clip(ref.astype(int) + noise, 0, 255).astype(np.uint8)


def test_luma__matches_pillow_convert_l_for_arrays_and_paths(rgb_pair, tmp_path):
    ref, _ = rgb_pair
    expected = np.asarray(Image.fromarray(ref).convert("L"), dtype=np.float64)
    Image.fromarray(ref).save(tmp_path / "ref.png")
    np.testing.assert_array_equal(luma(ref), expected)
    np.testing.assert_array_equal(luma(tmp_path / "ref.png"), expected)
    assert luma(ref).dtype == np.float64


def test_psnr_ssim_luma__equal_skimage_on_luminance(rgb_pair):
    ref, dist = rgb_pair
    a, b = luma(ref), luma(dist)
    assert psnr_luma(ref, dist) == pytest.approx(peak_signal_noise_ratio(a, b, data_range=255))
    assert ssim_luma(ref, dist) == pytest.approx(structural_similarity(a, b, data_range=255))
    assert psnr_luma(ref, ref) == np.inf and ssim_luma(ref, ref) == pytest.approx(1.0)


def test_psnr_luma__shape_mismatch_names_both_shapes(rgb_pair):
    ref, dist = rgb_pair
    with pytest.raises(ValueError, match=r"\(24, 32\).*\(24, 31\)"):
        psnr_luma(ref, dist[:, :31])


def test_luma__rejects_float_arrays():
    with pytest.raises(ValueError, match="uint8"):
        luma(np.zeros((4, 4, 3), dtype=np.float32))


def test_full_reference_baselines__rows_in_order_and_threads_agree(rgb_pair, tmp_path):
    ref, dist = rgb_pair
    Image.fromarray(ref).save(tmp_path / "ref.png")
    Image.fromarray(dist).save(tmp_path / "dist.png")
    refs = [tmp_path / "ref.png"] * 3
    dists = [tmp_path / "dist.png", tmp_path / "ref.png", tmp_path / "dist.png"]
    table = full_reference_baselines(refs, dists, threads=2)
    assert list(table.columns) == ["psnr", "ssim"] and len(table) == 3
    assert table["psnr"][0] == pytest.approx(psnr_luma(ref, dist)) and table["psnr"][1] == np.inf
    pd.testing.assert_frame_equal(table, full_reference_baselines(refs, dists, threads=1))
    with pytest.raises(ValueError, match="2 entries"):
        full_reference_baselines(refs[:2], dists)


@pytest.mark.skipif(not LIVE.is_dir(), reason=f"LIVE JPEG dev data not found at {LIVE}")
def test_full_reference_baselines__reproduce_live_jpeg_readme_srcc():
    scores = pd.read_csv(LIVE / "scores.csv")
    refs, dists = [LIVE / p for p in scores["ref"]], [LIVE / p for p in scores["dist"]]
    table = full_reference_baselines(refs, dists, threads=4)
    dmos = scores["dmos"].to_numpy()
    splits = content_splits(scores["ref"].tolist(), n_splits=5)
    for column, expected in (("psnr", 0.821), ("ssim", 0.915)):
        summary = summarize_zero_shot(
            table[column].to_numpy(),
            dmos,
            score_higher_is_better=True,
            target_higher_is_better=False,
            splits=splits,
        )
        assert round(summary["srcc"], 3) == expected, column  # README: |SRCC| with DMOS, here oriented: +
        assert summary["n"] == 49 and len(summary["per_split"]) == 5
