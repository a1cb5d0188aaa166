"""A labelled grid of one volume under the 3D artefact bank: three orthogonal slices per type and level."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure

from perceptflow.distortions.api import distortion_rng, level_value
from perceptflow.distortions.medical.api import apply_volume_distortion, check_volume
from perceptflow.distortions.medical.registry import MEDICAL_DISTORTIONS
from perceptflow.distortions.registry import get_distortion
from perceptflow.types import PathLikeStr

#: Inches per cell (three slices side by side), the width reserved for row labels and the title height.
_CELL_W_IN, _CELL_H_IN, _LABEL_IN, _TITLE_IN = 2.4, 0.9, 2.0, 0.5


def orthogonal_slices(volume: np.ndarray, gap: int = 2) -> npt.NDArray[np.float32]:
    """Sagittal, coronal and axial slices through the centre of a RAS (D, H, W) volume, side by side.

    Each slice is shown with superior (or anterior, for the axial one) up and zero-padded to a common height.
    """
    cx, cy, cz = (n // 2 for n in volume.shape)
    views = [volume[cx, :, :].T[::-1], volume[:, cy, :].T[::-1], volume[:, :, cz].T[::-1]]
    height = max(view.shape[0] for view in views)
    padded = []
    for view in views:
        top = (height - view.shape[0]) // 2
        canvas = np.zeros((height, view.shape[1] + gap), dtype=np.float32)
        canvas[top : top + view.shape[0], : view.shape[1]] = view
        padded.append(canvas)
    return np.concatenate(padded, axis=1)[:, :-gap]


def volume_gallery_figure(
    volume: np.ndarray, *, types: Sequence[str] | None = None, seed: int = 0, volume_id: str = "gallery"
) -> Figure:
    """One row per type (default: every medical type), columns clean + levels 1..5, each cell three slices.

    Every cell uses the same grey scale, [0, 1], so brightness changes stay visible. Object API, no pyplot.
    """
    check_volume(volume)
    names = list(types) if types is not None else list(MEDICAL_DISTORTIONS)
    clean = orthogonal_slices(np.asarray(volume, dtype=np.float32))
    fig = Figure(figsize=(_LABEL_IN + 6 * _CELL_W_IN, _TITLE_IN + len(names) * _CELL_H_IN))
    axes = fig.subplots(len(names), 6, squeeze=False)
    for row, name in enumerate(names):
        spec = get_distortion(name)
        cells = [clean] + [
            orthogonal_slices(
                apply_volume_distortion(volume, name, level, distortion_rng(seed, volume_id, name, level))
            )
            for level in range(1, 6)
        ]
        for column, cell in enumerate(cells):
            ax = axes[row, column]
            ax.imshow(cell, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            title = "clean" if column == 0 else f"L{column}: {level_value(name, column):g}"
            ax.set_title(title, fontsize=7, pad=2)
        axes[row, 0].set_ylabel(f"{spec.id}. {name}\n{spec.parameter}", fontsize=7, rotation=0, ha="right",
                                va="center", labelpad=6, wrap=True)  # fmt: skip
    height = fig.get_figheight()
    fig.suptitle(f"perceptflow 3D artefacts, {volume_id}, seed {seed} (sagittal | coronal | axial)", fontsize=9,
                 y=1 - 0.1 / height)  # fmt: skip
    fig.subplots_adjust(left=_LABEL_IN / fig.get_figwidth(), right=0.99, top=1 - _TITLE_IN / height,
                        bottom=0.01, wspace=0.04, hspace=0.35)  # fmt: skip
    return fig


def save_volume_gallery(
    volume: np.ndarray, path: PathLikeStr, *, types: Sequence[str] | None = None, seed: int = 0,
    volume_id: str = "gallery", dpi: int = 100,
) -> Path:  # fmt: skip
    """Render :func:`volume_gallery_figure` to ``path`` (PNG); returns the path."""
    fig = volume_gallery_figure(volume, types=types, seed=seed, volume_id=volume_id)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path
