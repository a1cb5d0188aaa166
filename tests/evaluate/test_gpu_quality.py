"""benchmarks/gpu_check.py --only quality runs end to end on the CPU (smoke), before device time is spent on it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.slow
def test_quality_section_smoke_reports_throughput_and_srccs(live_jpeg_dir: Path) -> None:
    if not (live_jpeg_dir.parent / "bsds500" / "train").is_dir():
        pytest.skip("BSDS500 not found beside the checkout")
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from gpu_check import main
    finally:
        sys.path.remove(str(BENCHMARKS))
    (record,) = main(["--only", "quality", "--smoke"])
    assert record["section"] == "quality" and record["smoke"] and record["device"] == "cpu"
    assert record["bank_images_per_s"] > 0 and record["train_images_per_s"] > 0
    assert {"contrique.fr_zero_shot", "psnr.fr_zero_shot", "fsim.fr_zero_shot"} <= set(record["live_dev"])
