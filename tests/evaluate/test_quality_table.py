"""The quality table: rows from metrics.json with intervals and commands, bootstrap over references."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from perceptflow.evaluate.quality import bootstrap_srcc, metrics_rows, quality_markdown, quality_table


def test_bootstrap_interval_brackets_the_pooled_srcc_and_narrows_with_agreement() -> None:
    rng = np.random.default_rng(0)
    groups = np.repeat([f"r{i}" for i in range(10)], 6)
    targets = rng.normal(size=60)
    good = bootstrap_srcc(targets + 0.1 * rng.normal(size=60), targets, groups, n_boot=200)
    poor = bootstrap_srcc(targets + 2.0 * rng.normal(size=60), targets, groups, n_boot=200)
    assert 0.9 < good[0] <= good[1] <= 1.0
    assert poor[1] - poor[0] > good[1] - good[0]


def write_metrics(path: Path) -> Path:
    path.parent.mkdir(parents=True)
    split = [{"srcc": v} for v in np.linspace(0.5, 0.9, 50)]
    metrics = {
        "dataset": "live_jpeg",
        "method": "contrique",
        "nr_ridge": {"srcc_median": 0.7, "per_split": split, "srcc_per_type": {"jpeg": 0.71}},
        "fr_zero_shot": {"srcc": 0.88},
        "baselines": {
            "ms_ssim": {"fr_zero_shot": {"skipped": "MS-SSIM needs images of at least 161 px"}},
            "fsim": {"fr_zero_shot": {"srcc": 0.93}},
        },
    }
    path.write_text(json.dumps(metrics))
    return path


def test_rows_carry_srcc_spread_skip_and_command(tmp_path: Path) -> None:
    path = write_metrics(tmp_path / "evaluate" / "contrique" / "live_jpeg" / "metrics.json")
    rows = {(r["model"], r["mode"]): r for r in metrics_rows(path, command="snakemake x")}
    nr = rows[("contrique", "nr_ridge")]
    assert nr["srcc"] == 0.7 and nr["low"] == pytest.approx(0.52) and nr["high"] == pytest.approx(0.88)
    assert nr["per_type"] == "jpeg 0.710" and nr["command"] == "snakemake x"
    assert rows[("fsim", "fr_zero_shot")]["srcc"] == 0.93
    assert "161 px" in rows[("ms_ssim", "fr_zero_shot")]["interval"]


def test_table_markdown_names_every_number_with_its_command(tmp_path: Path) -> None:
    write_metrics(tmp_path / "evaluate" / "contrique" / "live_jpeg" / "metrics.json")
    table = quality_table([(tmp_path, "snakemake --configfile c.yaml")])
    text = quality_markdown(table)
    assert len(table) == 4 and text.count("snakemake --configfile c.yaml") == 4
    assert "| live_jpeg | fsim | fr_zero_shot | 0.930 |" in text and "skipped: MS-SSIM" in text


def test_baselines_alone_give_rows_with_intervals_and_skips(tmp_path: Path) -> None:
    import pandas as pd

    from perceptflow.data.datasets import DatasetTable, save_table

    rng = np.random.default_rng(1)
    n = 40
    frame = pd.DataFrame(
        {
            "image_id": [f"i{k}" for k in range(n)],
            "path": "x.png",
            "ref_id": [f"r{k % 8}" for k in range(n)],
            "ref_path": "r.png",
            "target": rng.normal(size=n),
            "dist_type": "jpeg",
        }
    )
    (tmp_path / "regress" / "live").mkdir(parents=True)
    save_table(DatasetTable("live", frame, "dmos", higher_is_better=False), tmp_path / "regress" / "live" / "table.csv")
    baselines = tmp_path / "evaluate" / "baselines" / "live"
    baselines.mkdir(parents=True)
    pd.DataFrame({"psnr": -frame["target"] + 0.1 * rng.normal(size=n), "image_id": frame["image_id"]}).to_csv(
        baselines / "fr_scores.csv", index=False
    )
    (baselines / "fr_skips.json").write_text(json.dumps({"ms_ssim": "MS-SSIM needs 161 px"}))
    table = quality_table([(tmp_path, "snakemake y")], n_boot=100).set_index("model")
    assert table.loc["psnr", "srcc"] > 0.9 and table.loc["psnr", "low"] <= table.loc["psnr", "srcc"]
    assert "161 px" in table.loc["ms_ssim", "interval"]


def test_bapps_scores_become_2afc_and_jnd_rows(tmp_path: Path) -> None:
    path = tmp_path / "evaluate" / "bapps" / "bapps" / "scores.json"
    path.parent.mkdir(parents=True)
    block = {"mean": 0.7, "per_subset": {"val/cnn": 0.8, "val/traditional": 0.6}}
    path.write_text(json.dumps({"dataset": "bapps", "twoafc": {"psnr": block}, "jnd_map": {"psnr": block}}))
    table = quality_table([(tmp_path, "snakemake")])
    assert list(table["mode"]) == ["2afc", "jnd_map"] and list(table["srcc"]) == [0.7, 0.7]
    text = quality_markdown(table)
    assert "| bapps | psnr | 2afc | 0.700 | mean of 2 subsets | val/cnn 0.800, val/traditional 0.600 |" in text


def test_every_ridge_score_reports_its_median_and_spread_and_an_untyped_dataset_has_no_type_column(
    tmp_path: Path,
) -> None:
    path = tmp_path / "metrics.json"
    split = [{"srcc": v} for v in np.linspace(0.5, 0.9, 50)]
    block = {"srcc_median": 0.8, "per_split": split, "srcc_per_type": {"unknown": 0.8}}
    path.write_text(json.dumps({"dataset": "d", "method": "m", "contrique_fr_ridge": block, "baselines": {}}))
    (row,) = metrics_rows(path, command="c")
    assert row["mode"] == "contrique_fr_ridge" and row["srcc"] == 0.8 and row["low"] == pytest.approx(0.52)
    assert "per_type" not in row
