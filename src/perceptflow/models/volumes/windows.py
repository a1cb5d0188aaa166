"""How a volume encoder sees a volume of any size: sliding cubic windows, zero-padded to the encoder's multiple.

A volume larger than the window is covered by windows of side ``window`` every ``stride`` voxels (the last window of
each axis is moved back to end at the border, so every voxel is covered); a side shorter than the window is taken
whole. The extract stage (`perceptflow.features.volumes.extract`) and the 3D metric (`perceptflow.metric.volumes`)
both average an encoder's pooled features over these windows, so their numbers agree.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class WindowSpec:
    """Sliding-window settings (config ``volumes.extract``): cube side, step and windows per forward pass."""

    window: int = 64
    stride: int = 32
    batch_size: int = 4

    def __post_init__(self) -> None:
        for key in ("window", "stride", "batch_size"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"volumes.extract.{key} must be a positive integer, got {value!r}")
        if self.stride > self.window:
            raise ValueError(
                f"volumes.extract.stride ({self.stride}) must not exceed volumes.extract.window ({self.window}): "
                "voxels between windows would never be seen"
            )

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | None) -> WindowSpec:
        """From the ``volumes.extract`` section (missing keys take the defaults; unknown keys are an error)."""
        section = dict(section or {})
        unknown = sorted(set(section) - {"window", "stride", "batch_size"})
        if unknown:
            raise ValueError(f"volumes.extract has unknown key(s) {unknown}; expected window, stride, batch_size")
        return cls(**section)


def window_starts(size: int, window: int, stride: int) -> list[int]:
    """Start indices of windows along one axis of ``size`` voxels: ``[0]`` when the window covers it, else every
    ``stride`` voxels plus a last window ending at the border."""
    if size < 1 or window < 1 or stride < 1:
        raise ValueError(f"window_starts needs positive size, window and stride, got {size}, {window}, {stride}")
    if size <= window:
        return [0]
    starts = list(range(0, size - window + 1, stride))
    if starts[-1] + window < size:
        starts.append(size - window)
    return starts


def window_grid(shape: Sequence[int], spec: WindowSpec) -> tuple[tuple[int, int, int], list[tuple[int, int, int]]]:
    """Window side per axis (``min(window, size)``) and the start corner of every window, in C order."""
    if len(shape) != 3:
        raise ValueError(f"window_grid needs a 3D shape, got {tuple(shape)}")
    sides = tuple(min(spec.window, int(s)) for s in shape)
    starts = [window_starts(int(s), spec.window, spec.stride) for s in shape]
    corners = [(int(z), int(y), int(x)) for z, y, x in itertools.product(*starts)]
    return sides, corners  # type: ignore[return-value]


def pad_to_multiple(block: np.ndarray, multiple: int) -> np.ndarray:
    """Zero-pad a 3D block at the far end of each axis up to the next multiple of ``multiple`` (no copy if none)."""
    if multiple < 1:
        raise ValueError(f"multiple must be >= 1, got {multiple}")
    pad = [(0, -s % multiple) for s in block.shape]
    return block if not any(after for _, after in pad) else np.pad(block, pad)
