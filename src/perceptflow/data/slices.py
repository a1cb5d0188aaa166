"""2D slices of 3D volumes: the target domain of Mix-up SSL (`perceptflow.ssl.mixup`).

Slices are cut along the three RAS axes of a volume read by `perceptflow.data.volumes.nifti.read_volume` (sagittal:
axis 0, coronal: axis 1, axial: axis 2), rotated so that the anatomy is upright, kept only when enough of the
slice is foreground, and spaced evenly through the foreground slices of each axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from perceptflow.data.volumes.nifti import NiftiConfig, demo_volumes, read_volume
from perceptflow.types import PathLikeStr

#: Slicing axes of a RAS volume by name.
AXES = {"sagittal": 0, "coronal": 1, "axial": 2}
#: Voxels brighter than this (intensities in [0, 1]) count as foreground.
FOREGROUND_LEVEL = 0.1


@dataclass(frozen=True)
class VolumeSlice:
    """One 2D slice: float32 ``image`` (H, W) in [0, 1] and where it was cut."""

    image: npt.NDArray[np.float32]
    source: str
    axis: str
    index: int

    @property
    def name(self) -> str:
        """``<source>_<axis>_<index>``, unique within one volume set."""
        return f"{self.source}_{self.axis}_{self.index:03d}"


def volume_slices(
    data: npt.NDArray[np.floating],
    *,
    source: str,
    per_axis: int,
    axes: Sequence[str] = tuple(AXES),
    min_foreground: float = 0.15,
) -> list[VolumeSlice]:
    """Up to ``per_axis`` evenly spaced slices along each of ``axes`` of a 3D volume with intensities in [0, 1].

    Only slices whose foreground share (voxels > `FOREGROUND_LEVEL`) is at least ``min_foreground`` qualify;
    from those, ``per_axis`` are taken at evenly spaced positions (all of them when fewer qualify). Each slice
    is rotated by 90 degrees so that anterior/superior points up, and clipped to [0, 1].

    Raises:
        ValueError: ``data`` is not 3D, ``per_axis`` < 1, ``min_foreground`` outside [0, 1], or an unknown axis.
    """
    if data.ndim != 3:
        raise ValueError(f"{source}: expected a 3D volume, got shape {data.shape}")
    if per_axis < 1:
        raise ValueError(f"per_axis must be >= 1, got {per_axis}")
    if not 0.0 <= min_foreground <= 1.0:
        raise ValueError(f"min_foreground must be in [0, 1], got {min_foreground}")
    unknown = [axis for axis in axes if axis not in AXES]
    if unknown:
        raise ValueError(f"unknown slice axis {unknown}; choose from {list(AXES)}")
    out = []
    for axis in axes:
        moved = np.moveaxis(np.asarray(data, dtype=np.float32), AXES[axis], 0)
        share = (moved > FOREGROUND_LEVEL).mean(axis=(1, 2))
        candidates = np.flatnonzero(share >= min_foreground)
        if len(candidates) > per_axis:
            candidates = candidates[np.round(np.linspace(0, len(candidates) - 1, per_axis)).astype(int)]
        for index in candidates:
            image = np.ascontiguousarray(np.rot90(np.clip(moved[index], 0.0, 1.0)))
            out.append(VolumeSlice(image=image, source=source, axis=axis, index=int(index)))
    return out


def demo_mri_slices(
    per_axis: int = 12, *, spacing: float = 2.0, volumes: Sequence[str] | None = None
) -> list[VolumeSlice]:
    """Slices of the MRI volumes bundled with nilearn and nibabel (`perceptflow.data.volumes.nifti.demo_volumes`).

    Args:
        per_axis: slices per axis and volume (see `volume_slices`).
        spacing: isotropic resampling in mm before slicing (2 mm: ~100 px slices of the MNI152 maps).
        volumes: ids of `demo_volumes` to use; None uses all of them.

    Raises:
        ValueError: an unknown volume id.
    """
    available = demo_volumes()
    chosen = list(available) if volumes is None else list(volumes)
    unknown = [name for name in chosen if name not in available]
    if unknown:
        raise ValueError(f"unknown demo volume(s) {unknown}; available: {sorted(available)}")
    out = []
    for name in chosen:
        for volume in read_volume(available[name], NiftiConfig(spacing=spacing)):
            out.extend(volume_slices(volume.data, source=name, per_axis=per_axis))
    return out


def folder_images(folder: PathLikeStr) -> list[VolumeSlice]:
    """The images directly inside ``folder`` (PNG, JPEG, TIFF, BMP), as grayscale [0, 1] slices sorted by name.

    Raises:
        FileNotFoundError: the folder is missing or holds no image.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"target image folder not found: {folder}")
    suffixes = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
    if not files:
        raise FileNotFoundError(f"{folder}: no image files ({', '.join(sorted(suffixes))})")
    out = []
    for index, path in enumerate(files):
        with Image.open(path) as image:
            gray = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
        out.append(VolumeSlice(image=gray, source=path.stem, axis="image", index=index))
    return out


def write_slice_pngs(slices: Sequence[VolumeSlice], folder: PathLikeStr) -> list[Path]:
    """Save each slice as an 8-bit grayscale PNG ``<name>.png`` in ``folder`` (created); returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for item in slices:
        path = folder / f"{item.name}.png"
        Image.fromarray(np.round(item.image * 255.0).astype(np.uint8)).save(path)
        paths.append(path)
    return paths
