"""Evaluation plots as PNG: predicted vs target scatter, and bars (e.g. SRCC per distortion type).

Figures are built with ``matplotlib.figure.Figure`` on the Agg canvas, never through pyplot, so plotting
needs no display, touches no global state and is safe in worker threads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
import numpy as np
import numpy.typing as npt
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from perceptflow.evaluate.correlation import srcc
from perceptflow.types import PathLikeStr

_DPI = 120


def plot_scatter(
    pred: npt.ArrayLike,
    target: npt.ArrayLike,
    path: PathLikeStr,
    *,
    title: str,
    xlabel: str = "target",
    ylabel: str = "prediction",
    hue: Sequence[str] | None = None,
) -> None:
    """Scatter of ``pred`` (y axis) against ``target`` (x axis), annotated with SRCC, written to ``path``.

    Args:
        hue: a label per point (e.g. distortion type); one colour and legend entry per distinct label.

    Raises:
        ValueError: lengths differ, or ``hue`` does not have one label per point.
    """
    y, x = np.asarray(pred, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if y.ndim != 1 or y.shape != x.shape:
        raise ValueError(f"plot_scatter: pred {y.shape} and target {x.shape} must be 1-D of one length")
    figure = Figure(figsize=(5.5, 4.5), dpi=_DPI)
    axes = figure.add_subplot()
    if hue is None:
        axes.scatter(x, y, s=12, alpha=0.7)
    else:
        labels = np.asarray([str(h) for h in hue])
        if labels.shape != x.shape:
            raise ValueError(f"plot_scatter: hue has {labels.size} labels for {x.size} points")
        colours = matplotlib.colormaps["tab20" if np.unique(labels).size > 10 else "tab10"]
        for number, label in enumerate(np.unique(labels)):
            chosen = labels == label
            colour = colours(number % colours.N)
            axes.scatter(x[chosen], y[chosen], s=12, alpha=0.7, color=colour, label=label)
        axes.legend(fontsize="small", markerscale=1.5, loc="best")
    if x.size >= 2 and np.ptp(x) > 0 and np.ptp(y) > 0 and np.all(np.isfinite(x)) and np.all(np.isfinite(y)):
        axes.text(0.02, 0.98, f"SRCC {srcc(y, x):.3f}  (n = {x.size})", transform=axes.transAxes, va="top")
    axes.set(title=title, xlabel=xlabel, ylabel=ylabel)
    axes.grid(alpha=0.3)
    _save(figure, path)


def plot_bars(values: Mapping[str, float], path: PathLikeStr, *, title: str, ylabel: str = "SRCC") -> None:
    """Bar chart of ``values`` (label -> value) in the given order, each bar labelled with its value.

    Raises:
        ValueError: ``values`` is empty.
    """
    if not values:
        raise ValueError(f"plot_bars: no values to plot for {title!r}")
    labels = [str(label) for label in values]
    heights = np.asarray(list(values.values()), dtype=np.float64)
    figure = Figure(figsize=(max(4.0, 0.6 * len(labels) + 2.0), 4.0), dpi=_DPI)
    axes = figure.add_subplot()
    bars = axes.bar(labels, np.nan_to_num(heights), color="tab:blue")
    axes.bar_label(bars, labels=[f"{h:.3f}" for h in heights], fontsize="small")
    axes.axhline(0.0, color="black", linewidth=0.8)
    low = min(0.0, float(np.nanmin(heights))) if np.isfinite(heights).any() else 0.0
    high = max(1.0, float(np.nanmax(heights))) if np.isfinite(heights).any() else 1.0
    axes.set_ylim(low - 0.05 * (high - low), high + 0.1 * (high - low))
    axes.set(title=title, ylabel=ylabel)
    axes.tick_params(axis="x", labelrotation=45)
    figure.tight_layout()
    _save(figure, path)


def _save(figure: Figure, path: PathLikeStr) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure)
    figure.savefig(target, format="png")
