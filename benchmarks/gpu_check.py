r"""Short device checks, one section per concern (``--only NAME``); each fits in a few minutes on one GPU.

Sections:
    metric: ``perceptflow score`` throughput vs the pure forward pass of the same encoder on the same decoded images
        (benchmarks/gpu_metric.py, benchmarks/bench_score.py) with a random-init resnet18 metric file.
    quality: natural-data path (BSDS500 bank, CONTRIQUE resnet50 training, extraction, LIVE dev FR/NR SRCC) with
        images/s per step (benchmarks/gpu_quality.py).
    scale: decode-only, pure-forward and end-to-end extraction images/s of a random-init resnet18 on 3,000 seeded
        256 px PNGs, and training images/s and data wait from PNGs vs the decoded cache (benchmarks/gpu_scale.py).

``--smoke`` runs a section tiny on the CPU (tests/features/test_gpu_scale.py, tests/evaluate/test_gpu_quality.py)
so the script is known to work before device time is spent on it.

    .venv/bin/python benchmarks/gpu_check.py --only scale --only quality --device cuda
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpu_metric import check_metric
from gpu_quality import check_quality
from gpu_scale import check_scale

SECTIONS: dict[str, Callable[[str, bool], dict[str, Any]]] = {
    "metric": check_metric,
    "quality": check_quality,
    "scale": check_scale,
}


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Run the chosen sections; print and return one JSON record per section."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=sorted(SECTIONS), action="append", help="run only these sections")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--smoke", action="store_true", help="tiny inputs on the CPU (a test of the script)")
    args = parser.parse_args(argv)
    device = "cpu" if args.smoke else args.device
    records = []
    for name in args.only or sorted(SECTIONS):
        record = {"section": name, "smoke": args.smoke, **SECTIONS[name](device, args.smoke)}
        print(json.dumps(record), flush=True)
        records.append(record)
    return records


if __name__ == "__main__":
    main()
