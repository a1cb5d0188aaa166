"""`perceptflow evaluate` on real human ratings (LIVE JPEG subset) with the workflow's trained encoder."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from workflow_support import BIN, WorkflowRun


def perceptflow(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "perceptflow"), *args], capture_output=True, text=True)


@pytest.mark.slow
def test_evaluate_writes_metrics_for_a_csv_dataset(
    workflow_run: WorkflowRun, live_jpeg_dir: Path, tmp_path: Path
) -> None:
    encoder = workflow_run.workdir / "results/train/contrique/encoder.pt"
    result = perceptflow(
        "evaluate", "--checkpoint", str(encoder), "--manifest", str(live_jpeg_dir / "scores.csv"),
        "--score-column", "dmos", "--lower-is-better", "--out", str(tmp_path / "out"), "--n-splits", "4",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["n_images"] == 49 and metrics["n_refs"] == 8
    assert -1 <= metrics["fr_zero_shot"]["srcc"] <= 1
    assert -1 <= metrics["nr_ridge"]["srcc_median"] <= 1
    assert "plcc_median" in metrics["nr_ridge"]
    assert -1 <= metrics["fr_lpips"]["srcc"] <= 1 and -1 <= metrics["contrique_fr_ridge"]["srcc_median"] <= 1
    assert {"fr_lpips", "contrique_fr_ridge"} <= {row["mode"] for row in metrics["table"]}
    assert metrics["baselines"]["psnr"]["fr_zero_shot"]["srcc"] == pytest.approx(0.821, abs=5e-4)
    assert metrics["baselines"]["ssim"]["fr_zero_shot"]["srcc"] == pytest.approx(0.915, abs=5e-4)
    predictions = pd.read_csv(tmp_path / "out" / "predictions.csv")
    assert set(predictions["split"]) == {0, 1, 2, 3}
    assert (tmp_path / "out" / "scatter.png").is_file()


def test_evaluate_names_the_csv_and_missing_column(live_jpeg_dir: Path, tmp_path: Path) -> None:
    result = perceptflow(
        "evaluate", "--checkpoint", str(tmp_path / "none.pt"), "--manifest", str(live_jpeg_dir / "scores.csv"),
        "--score-column", "mos", "--higher-is-better", "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.returncode == 2
    assert "scores.csv" in result.stderr and "'mos'" in result.stderr


def test_evaluate_rejects_a_file_that_is_not_an_encoder(live_jpeg_dir: Path, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.pt"
    bogus.write_bytes(b"not a checkpoint")
    result = perceptflow(
        "evaluate", "--checkpoint", str(bogus), "--manifest", str(live_jpeg_dir / "scores.csv"),
        "--score-column", "dmos", "--lower-is-better", "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.returncode == 2
    assert "bogus.pt" in result.stderr


def test_direction_flag_is_required(tmp_path: Path) -> None:
    result = perceptflow("evaluate", "--checkpoint", "x", "--manifest", "y", "--score-column", "s", "--out", "o")
    assert result.returncode == 2 and "--higher-is-better" in result.stderr
