"""The ``evaluate_bapps`` rule: every encoder's exported metric and the pixel baselines on a BAPPS dataset."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from perceptflow.evaluate.bapps.scoring import score_bapps
from perceptflow.models.device import pick_device
from perceptflow.types import PathLikeStr


def evaluate_bapps(
    dataset: str,
    spec: Mapping[str, Any],
    metric_files: Mapping[str, PathLikeStr],
    *,
    scores_out: PathLikeStr,
    threads: int = 1,
) -> dict[str, Any]:
    """Score ``spec``'s BAPPS folder (``path``, ``splits``) with each encoder's ``fr.pt``; writes ``scores_out``
    (JSON, `score_bapps`'s result with the dataset's name) and returns it."""
    splits: Sequence[str] = spec.get("splits") or ["val"]
    device = pick_device()
    result = {"dataset": dataset, "path": str(spec["path"]), "splits": list(splits), "device": device.type}
    result |= score_bapps(spec["path"], metric_files, splits=splits, threads=threads, device=device)
    Path(scores_out).parent.mkdir(parents=True, exist_ok=True)
    Path(scores_out).write_text(json.dumps(result, indent=1))
    return result
