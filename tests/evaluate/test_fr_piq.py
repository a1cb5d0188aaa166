"""piq full-reference baselines: direction, recorded size skips, their place in metrics.json, LIVE calibration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import piq
import pytest
import torch
from PIL import Image

from perceptflow.data.datasets import DatasetTable
from perceptflow.evaluate.fr_piq import PIQ_METRICS, piq_baselines
from perceptflow.evaluate.stage import FR_BASELINES, compute_fr_baselines
from perceptflow.evaluate.summary import summarize_zero_shot


def pairs(tmp_path: Path, size: int, n: int = 3) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    Image.fromarray(ref).save(tmp_path / "ref.png")
    dists = []
    for i in range(n):
        noisy = np.clip(ref.astype(int) + rng.normal(0, 8 * (i + 1), ref.shape), 0, 255).astype(np.uint8)
        Image.fromarray(noisy).save(tmp_path / f"d{i}.png")
        dists.append(str(tmp_path / f"d{i}.png"))
    return [str(tmp_path / "ref.png")] * n, dists


def test_scores_equal_piq_and_follow_noise_strength(tmp_path: Path) -> None:
    refs, dists = pairs(tmp_path, 48)
    scores, skipped = piq_baselines(refs, dists)
    assert skipped == {"ms_ssim": skipped["ms_ssim"]} and "161 px" in skipped["ms_ssim"]
    assert list(scores.columns) == ["vif_p", "fsim", "gmsd"]
    ref = torch.from_numpy(np.asarray(Image.open(refs[0])).transpose(2, 0, 1).copy()).float()[None] / 255
    dist = torch.from_numpy(np.asarray(Image.open(dists[0])).transpose(2, 0, 1).copy()).float()[None] / 255
    assert scores["fsim"].iloc[0] == pytest.approx(float(piq.fsim(dist, ref, data_range=1.0)), rel=1e-6)
    assert scores["vif_p"].is_monotonic_decreasing and scores["fsim"].is_monotonic_decreasing
    assert scores["gmsd"].is_monotonic_increasing and PIQ_METRICS["gmsd"].lower_better


def test_below_every_minimum_only_the_size_free_metrics_remain(tmp_path: Path) -> None:
    refs, dists = pairs(tmp_path, 32, n=2)
    scores, skipped = piq_baselines(refs, dists)
    assert set(skipped) == {"ms_ssim", "vif_p"} and "41 px" in skipped["vif_p"] and "32 px" in skipped["vif_p"]
    assert list(scores.columns) == ["fsim", "gmsd"]


def test_shape_mismatch_and_unknown_metric_are_named(tmp_path: Path) -> None:
    refs, dists = pairs(tmp_path, 48, n=1)
    Image.fromarray(np.zeros((40, 48, 3), np.uint8)).save(tmp_path / "small.png")
    with pytest.raises(ValueError, match=r"small\.png"):
        piq_baselines(refs, [str(tmp_path / "small.png")])
    with pytest.raises(ValueError, match="unknown piq metric"):
        piq_baselines(refs, dists, metrics=["lpips"])


def test_compute_fr_baselines_has_every_baseline_or_its_skip(tmp_path: Path) -> None:
    refs, dists = pairs(tmp_path, 48)
    frame = pd.DataFrame(
        {
            "image_id": ["a", "b", "c"],
            "path": dists,
            "ref_id": "r",
            "ref_path": refs,
            "target": [1.0, 2.0, 3.0],
            "dist_type": "noise",
        }
    )
    scores, skipped = compute_fr_baselines(DatasetTable("t", frame, "level", higher_is_better=False))
    assert scores is not None
    assert set(FR_BASELINES) == set(scores.columns) - {"image_id"} | set(skipped)
    assert list(scores["image_id"]) == ["a", "b", "c"]


@pytest.mark.slow
def test_live_dev_calibration_matches_the_readme(live_jpeg_dir: Path) -> None:
    """../shared/data/live-jpeg-dev/README.md: MS-SSIM 0.928, VIF-p 0.917, GMSD 0.921, FSIM 0.930 (|SRCC|)."""
    frame = pd.read_csv(live_jpeg_dir / "scores.csv")
    scores, skipped = piq_baselines(
        [str(live_jpeg_dir / p) for p in frame["ref"]], [str(live_jpeg_dir / p) for p in frame["dist"]], threads=2
    )
    assert skipped == {}
    dmos = frame["dmos"].to_numpy(float)
    expected = {"ms_ssim": 0.928, "vif_p": 0.917, "gmsd": 0.921, "fsim": 0.930}
    for name, value in expected.items():
        summary = summarize_zero_shot(
            scores[name].to_numpy(float),
            dmos,
            score_higher_is_better=not PIQ_METRICS[name].lower_better,
            target_higher_is_better=False,
        )
        assert round(summary["srcc"], 3) == value, name
