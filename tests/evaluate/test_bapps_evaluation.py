"""BAPPS through the evaluate stage: 2AFC and JND of metric files and pixel baselines, per subset, from the files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from bapps_fixture import make_bapps

from perceptflow.data.rated import LayoutError, load_bapps
from perceptflow.data.rated.bapps import score_folders
from perceptflow.evaluate import jnd_map, score_2afc
from perceptflow.evaluate.bapps import score_bapps
from perceptflow.evaluate.bapps.stage import evaluate_bapps
from perceptflow.metric import metric_payload, save_metric_file
from perceptflow.metric.learned import load_metric
from perceptflow.metric.scoring import score_files
from perceptflow.models import build_encoder


@pytest.fixture(scope="module")
def fr_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("metric") / "fr.pt"
    save_metric_file(metric_payload(build_encoder("resnet18", seed=0), method="random_init"), path)
    return path


def test_scores_equal_the_definitions_on_each_subset_and_blur_is_ranked_as_people_judge(
    tmp_path: Path, fr_file: Path
) -> None:
    root = make_bapps(tmp_path / "bapps")
    result = score_bapps(root, {"random_init": fr_file})
    assert result["n_triplets"] == 12 and result["n_jnd_pairs"] == 6
    assert result["subsets"] == {"twoafc": ["val/cnn", "val/traditional"], "jnd": ["traditional"]}
    assert set(result["twoafc"]) == set(result["jnd_map"]) == {"psnr", "ssim", "random_init"}
    # the judgements prefer the milder blur: PSNR agrees on every triplet (0.9 each) and ranks identical pairs first
    for subset in ("val/cnn", "val/traditional"):
        assert result["twoafc"]["psnr"]["per_subset"][subset] == pytest.approx(0.9)
    assert result["jnd_map"]["psnr"]["per_subset"]["traditional"] == pytest.approx(
        jnd_map([0, 0, 0, 1, 1, 1], [0.9] * 3 + [0.1] * 3)
    )

    data = load_bapps(root)
    metric = load_metric(fr_file)
    cnn = data.twoafc[data.twoafc["subset"] == "cnn"]
    d0 = score_files(metric, list(cnn["p0"]), list(cnn["ref"]), progress=False)
    d1 = score_files(metric, list(cnn["p1"]), list(cnn["ref"]), progress=False)
    expected = score_2afc(d0, d1, cnn["judge"].to_numpy())
    assert result["twoafc"]["random_init"]["per_subset"]["val/cnn"] == pytest.approx(expected, abs=1e-12)
    means = result["twoafc"]["random_init"]
    assert means["mean"] == pytest.approx(np.mean(list(means["per_subset"].values())))


def test_the_stage_writes_the_scores_and_a_broken_layout_is_named(tmp_path: Path, fr_file: Path) -> None:
    root = make_bapps(tmp_path / "bapps", per_subset=2)
    out = tmp_path / "out" / "scores.json"
    result = evaluate_bapps("bapps", {"kind": "bapps", "path": str(root)}, {"random_init": fr_file}, scores_out=out)
    assert json.loads(out.read_text()) == result and result["dataset"] == "bapps" and result["splits"] == ["val"]
    assert len(score_folders(root)) == 3  # two 2AFC judge folders and one JND same folder
    (root / "2afc" / "val" / "cnn" / "judge").rename(root / "2afc" / "val" / "cnn" / "judgements")
    with pytest.raises(LayoutError, match=r"cnn/judge"):
        score_folders(root)
    with pytest.raises(LayoutError, match=r"2afc/train"):
        score_folders(root, ("train",))
