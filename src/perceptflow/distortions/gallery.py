"""A labelled grid of one picture under a whole bank of distortions (types x levels), for people and reports."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from perceptflow.distortions.api import apply_distortion, distortion_rng, level_value
from perceptflow.distortions.registry import distortions_in, get_distortion
from perceptflow.types import ImageArray, PathLikeStr

#: Inches per grid cell, the width reserved for row labels and the height for the title.
_CELL_IN, _LABEL_IN, _TITLE_IN = 1.3, 2.2, 0.6


def distortion_grid(
    image: ImageArray, *, types: Sequence[str] | None = None, seed: int = 0, scheme: str = "severity",
    ref_id: str = "gallery",
) -> dict[tuple[str, int], ImageArray]:  # fmt: skip
    """Every (type, level) of ``types`` (default: the 25 KADID types) applied to ``image``, seeded per cell."""
    names = list(types) if types is not None else list(distortions_in("natural"))
    return {
        (name, level): apply_distortion(image, name, level, distortion_rng(seed, ref_id, name, level), scheme)
        for name in names
        for level in range(1, 6)
    }


def gallery_figure(
    image: ImageArray, *, types: Sequence[str] | None = None, seed: int = 0, scheme: str = "severity",
    ref_id: str = "gallery",
) -> Figure:  # fmt: skip
    """A figure with one row per type (labelled with name and parameter) and one column per level.

    Each cell is titled with its parameter value. Uses matplotlib's object API (no pyplot state), so it
    is safe in threads and needs no display.
    """
    grid = distortion_grid(image, types=types, seed=seed, scheme=scheme, ref_id=ref_id)
    names = list(dict.fromkeys(name for name, _ in grid))
    fig = Figure(figsize=(_LABEL_IN + 5 * _CELL_IN, _TITLE_IN + len(names) * _CELL_IN))
    axes = np.atleast_2d(fig.subplots(len(names), 5, squeeze=False))
    for row, name in enumerate(names):
        spec = get_distortion(name)
        for level in range(1, 6):
            ax = axes[row, level - 1]
            ax.imshow(grid[(name, level)], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"L{level}: {level_value(name, level, scheme):g}", fontsize=7, pad=2)
        axes[row, 0].set_ylabel(f"{spec.id}. {name}\n{spec.parameter}", fontsize=7, rotation=0, ha="right",
                                va="center", labelpad=6, wrap=True)  # fmt: skip
    height = fig.get_figheight()
    fig.suptitle(f"perceptflow distortion bank, scheme '{scheme}', seed {seed}", fontsize=9, y=1 - 0.1 / height)
    fig.subplots_adjust(left=_LABEL_IN / fig.get_figwidth(), right=0.99, top=1 - _TITLE_IN / height,
                        bottom=0.01, wspace=0.05, hspace=0.3)  # fmt: skip
    return fig


def save_gallery(
    image: ImageArray, path: PathLikeStr, *, size: int = 128, types: Sequence[str] | None = None, seed: int = 0,
    scheme: str = "severity", ref_id: str = "gallery",
) -> Path:  # fmt: skip
    """Render :func:`gallery_figure` to ``path`` (PNG) at about ``size`` px per cell; returns the path."""
    fig = gallery_figure(image, types=types, seed=seed, scheme=scheme, ref_id=ref_id)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=max(72, round(size / (_CELL_IN * 0.85))))
    return path
