"""benchmarks/gpu_check.py --only metric runs in its CPU smoke mode (the GPU numbers need a device)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.slow
def test_metric_section_runs_in_smoke_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import gpu_check

    (record,) = gpu_check.main(["--only", "metric", "--smoke"])
    assert record["section"] == "metric" and record["device"] == "cpu" and record["n_images"] == 8
    assert record["score_img_per_s"] > 0 and record["encoder_forward_img_per_s"] > 0
    assert record["score_vs_encoder_forward"] == pytest.approx(
        record["score_img_per_s"] / record["encoder_forward_img_per_s"], rel=1e-2
    )
    sys.modules.pop("gpu_check", None)
