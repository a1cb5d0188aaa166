"""The `scale` section of benchmarks/gpu_check.py runs (tiny, on the CPU) before device time is spent on it."""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_gpu_check_scale_section__smoke_runs_on_cpu(monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import gpu_check

    (record,) = gpu_check.main(["--only", "scale", "--smoke"])
    assert record["section"] == "scale" and record["device"] == "cpu" and record["images"] == 16
    for key in ("decode_images_per_s", "forward_images_per_s", "extract_images_per_s"):
        assert record[key] > 0
    assert record["extract_over_forward"] > 0
    for source in ("files", "cache"):
        assert record[f"train_{source}_images_per_s"] > 0 and 0 <= record[f"train_{source}_data_wait"] < 1
    sys.modules.pop("gpu_check", None)
