"""The `metric` section of benchmarks/gpu_check.py: `perceptflow score` throughput vs the pure forward pass."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_score import measure


def synthetic_pairs(root: Path, n: int, size: int, per_ref: int = 10) -> pd.DataFrame:
    """``n`` noisy copies of ``n / per_ref`` seeded textured references, as PNG files under ``root``."""
    rng = np.random.default_rng(0)
    rows = []
    for index in range(n):
        ref_path = root / f"ref{index // per_ref}.png"
        if index % per_ref == 0:
            coarse = rng.uniform(30, 225, (size // 16, size // 16, 3)).astype(np.uint8)
            reference = np.asarray(Image.fromarray(coarse).resize((size, size), Image.Resampling.BICUBIC))
            Image.fromarray(reference).save(ref_path)
        noisy = np.clip(reference + rng.normal(0, 5 + index % per_ref * 3, reference.shape), 0, 255).astype(np.uint8)
        Image.fromarray(noisy).save(root / f"dist{index}.png")
        rows.append({"dist": str(root / f"dist{index}.png"), "ref": str(ref_path)})
    return pd.DataFrame(rows)


def check_metric(device: str, smoke: bool) -> dict[str, Any]:
    """Score vs forward throughput of a resnet18 LPIPS-style metric (unmeasured on GPU until run there)."""
    from perceptflow.metric import metric_payload, save_metric_file
    from perceptflow.models import build_encoder

    n, size, batch = (8, 64, 4) if smoke else (400, 256, 32)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        metric_file = root / "fr.pt"
        save_metric_file(metric_payload(build_encoder("resnet18", seed=0), method="random"), metric_file)
        return measure(metric_file, synthetic_pairs(root, n, size), device=device, batch_size=batch)
