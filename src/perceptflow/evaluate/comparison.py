"""The report stage: one comparison table and plot over every metrics.json of a workflow run."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from perceptflow.types import PathLikeStr


def comparison_table(metrics_files: Sequence[PathLikeStr]) -> pd.DataFrame:
    """Rows of every metrics.json's ``table`` (model x dataset x mode), tagged with the evaluated method.

    Baseline rows (PSNR, SSIM, random init) repeat once per method; they are kept once per dataset.
    """
    rows = []
    for path in metrics_files:
        metrics = json.loads(Path(path).read_text())
        for row in metrics["table"]:
            is_baseline = row["model"] != metrics["method"]
            rows.append({**row, "kind": "baseline" if is_baseline else "method"})
    table = pd.DataFrame(rows)
    if table.empty:
        raise ValueError("no metrics rows to summarise")
    return table.drop_duplicates(["dataset", "model", "mode"]).reset_index(drop=True)


def plot_comparison(table: pd.DataFrame, path: PathLikeStr) -> None:
    """Grouped bars: SRCC per model, one panel per (dataset, mode)."""
    panels = list(table.groupby(["dataset", "mode"], sort=True))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.6), squeeze=False)
    for ax, ((dataset, mode), part) in zip(axes[0], panels, strict=True):
        colours = ["tab:blue" if kind == "method" else "tab:gray" for kind in part["kind"]]
        ax.bar(part["model"], part["srcc"], color=colours)
        ax.set_title(f"{dataset}: {mode}")
        ax.set_ylabel("SRCC (higher = better agreement)")
        ax.set_ylim(min(0.0, float(part["srcc"].min()) - 0.05), 1.0)
        ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_summary(
    metrics_files: Sequence[PathLikeStr], *, table_out: PathLikeStr, plot_out: PathLikeStr
) -> pd.DataFrame:
    """Write the comparison table (CSV) and plot (PNG); return the table."""
    table = comparison_table(metrics_files)
    table.to_csv(table_out, index=False)
    plot_comparison(table, plot_out)
    return table
