"""The 3D evaluation plot: headline scores per model, and FR SRCC per artefact type per model (Agg, no pyplot)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from perceptflow.types import PathLikeStr

#: Headline scores of the left panel: (label, block, key).
HEADLINES = (
    ("NR ridge SRCC", "nr_ridge", "srcc_median"),
    ("FR SRCC", "fr_zero_shot", "srcc"),
    ("2AFC", "twoafc", "score"),
)


def _value(summary: Mapping[str, Any], block: str, key: str) -> float:
    value = (summary.get(block) or {}).get(key)
    return float(value) if isinstance(value, int | float) else float("nan")


def plot_volume_metrics(metrics: Mapping[str, Any], path: PathLikeStr) -> None:
    """Two panels: NR/FR SRCC and 2AFC per model; FR SRCC per artefact type, one bar per model."""
    models = {metrics["method"]: metrics, **metrics["baselines"]}
    names = list(models)
    figure = Figure(figsize=(14.0, 4.8), dpi=120)
    left, right = figure.subplots(1, 2, width_ratios=[1, 2.2])
    width = 0.8 / len(HEADLINES)
    for number, (label, block, key) in enumerate(HEADLINES):
        values = [_value(models[name], block, key) for name in names]
        left.bar(np.arange(len(names)) + number * width, np.nan_to_num(values), width, label=label)
    left.set_xticks(np.arange(len(names)) + width * (len(HEADLINES) - 1) / 2, names, rotation=30)
    left.set(title=f"{metrics['method']} on {metrics['dataset']}", ylim=(min(0.0, left.get_ylim()[0]), 1.05))
    left.axhline(0.0, color="black", linewidth=0.8)
    left.legend(fontsize="small")
    types = sorted({t for name in names for t in (models[name].get("fr_zero_shot") or {}).get("srcc_per_type", {})})
    width = 0.8 / len(names)
    for number, name in enumerate(names):
        per_type = (models[name].get("fr_zero_shot") or {}).get("srcc_per_type", {})
        values = [float(per_type.get(t, np.nan)) for t in types]
        right.bar(np.arange(len(types)) + number * width, np.nan_to_num(values), width, label=name)
    right.set_xticks(np.arange(len(types)) + width * (len(names) - 1) / 2, types, rotation=30)
    right.set(title="FR SRCC per artefact (median over volumes)", ylabel="SRCC", ylim=(-1.05, 1.05))
    right.axhline(0.0, color="black", linewidth=0.8)
    right.legend(fontsize="small", ncols=len(names))
    figure.tight_layout()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure)
    figure.savefig(target, format="png")
