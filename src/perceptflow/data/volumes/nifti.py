"""Reading NIfTI volumes: validation, RAS reorientation, resampling, robust normalisation, crop or pad.

Arrays are indexed in RAS+ voxel order after :func:`read_volume`: axis 0 runs left to right, axis 1
posterior to anterior, axis 2 inferior to superior; this is the ``(D, H, W)`` volume of the medical
distortions. Only nibabel, scipy and scikit-image are used (TorchIO's import costs a second of torch).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import numpy.typing as npt
from scipy import ndimage
from skimage.filters import threshold_otsu

from perceptflow.types import PathLikeStr

#: NIfTI file suffixes, longest first.
NIFTI_SUFFIXES = (".nii.gz", ".nii")
#: What :func:`read_volume` does with a 4D file: ``refuse`` it or ``split`` it into 3D volumes.
FOUR_D_MODES = ("refuse", "split")
#: Largest |qform - sform| entry (mm) tolerated when a header sets both.
AFFINE_TOLERANCE = 1e-3


class NiftiReadError(ValueError):
    """A NIfTI file is missing, unreadable or not a usable 3D volume; the message names the file."""


@dataclass(frozen=True)
class NiftiConfig:
    """Preprocessing of :func:`read_volume`.

    Attributes:
        spacing: output voxel size in mm, one value (isotropic) or three; None keeps the file's.
        shape: output shape after centre crop or zero pad; None keeps the resampled shape.
        percentiles: intensities mapped to 0 and 1, percentiles within the Otsu foreground; values clipped.
        four_d: one of :data:`FOUR_D_MODES`.
    """

    spacing: float | tuple[float, float, float] | None = 1.0
    shape: tuple[int, int, int] | None = None
    percentiles: tuple[float, float] = (0.5, 99.5)
    four_d: str = "refuse"

    def __post_init__(self) -> None:
        if self.four_d not in FOUR_D_MODES:
            raise ValueError(f"four_d must be one of {FOUR_D_MODES}, got {self.four_d!r}")
        low, high = self.percentiles
        if not 0 <= low < high <= 100:
            raise ValueError(f"percentiles must satisfy 0 <= low < high <= 100, got {self.percentiles}")
        if self.spacing is not None and min(np.atleast_1d(self.spacing)) <= 0:
            raise ValueError(f"spacing must be positive, got {self.spacing}")
        if self.shape is not None and (len(self.shape) != 3 or min(self.shape) < 1):
            raise ValueError(f"shape must be three positive integers, got {self.shape}")


@dataclass(frozen=True)
class Volume:
    """One preprocessed 3D volume: float32 ``data`` in ~[0, 1], its voxel-to-mm ``affine`` and provenance."""

    data: npt.NDArray[np.float32]
    affine: npt.NDArray[np.float64]
    source: str
    index: int | None = None

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size in mm along each axis."""
        return tuple(float(v) for v in np.linalg.norm(self.affine[:3, :3], axis=0))  # type: ignore[return-value]

    @property
    def orientation(self) -> tuple[str, str, str]:
        """Axis codes, ``("R", "A", "S")`` after :func:`read_volume`."""
        return nib.aff2axcodes(self.affine)


def demo_volumes() -> dict[str, Path]:
    """The real 3D anatomy shipped inside installed packages, by id (no download).

    nilearn's MNI152 2009 T1 and grey/white-matter maps (197 x 233 x 189, 1 mm) and nibabel's
    ``anatomical.nii`` (a 33 x 41 x 25 T1 at 2 mm). Left out: nibabel's ``example4d``/``functional``
    (4D EPI), ``reoriented_anat_moved``/``resampled_anat_moved`` (resampled copies of ``anatomical``),
    ``standard.nii.gz`` (a 4 x 5 x 7 toy) and nilearn's ``image_10426`` (a statistical map, not anatomy).
    """
    nilearn_data = Path(str(__import__("nilearn").__file__)).parent / "datasets" / "data"
    nibabel_data = Path(str(nib.__file__)).parent / "tests" / "data"
    stem = "mni_icbm152_{}_tal_nlin_sym_09a_converted.nii.gz"
    return {
        "mni152_t1": nilearn_data / stem.format("t1"),
        "mni152_gm": nilearn_data / stem.format("gm"),
        "mni152_wm": nilearn_data / stem.format("wm"),
        "nibabel_anatomical": nibabel_data / "anatomical.nii",
    }


def nifti_files(folder: PathLikeStr) -> list[Path]:
    """The ``.nii`` and ``.nii.gz`` files directly inside ``folder``, sorted by name.

    Raises:
        NiftiReadError: the folder is missing or holds no NIfTI file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise NiftiReadError(f"NIfTI folder not found: {folder}")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(NIFTI_SUFFIXES))
    if not files:
        raise NiftiReadError(f"{folder}: no .nii or .nii.gz files")
    return files


def load_nifti(path: PathLikeStr, four_d: str = "refuse") -> list[tuple[npt.NDArray[np.float32], np.ndarray]]:
    """Read and validate a ``.nii``/``.nii.gz`` file: a list of (float32 3D array, affine), one per volume.

    Raises:
        NiftiReadError: missing, truncated or non-NIfTI file; NaN/Inf; 2D image; zero-size or all-zero
            volume; singular, non-finite or qform/sform-inconsistent affine; 4D file with ``four_d="refuse"``.
    """
    path = Path(path)
    if not path.is_file():
        raise NiftiReadError(f"NIfTI file not found: {path}")
    try:
        image = nib.load(path)
        if not isinstance(image, nib.Nifti1Image | nib.Nifti2Image):
            raise NiftiReadError(f"{path}: {type(image).__name__} is not a NIfTI-1/2 image")
        data = np.asarray(image.dataobj, dtype=np.float32)
    except NiftiReadError:
        raise
    except (nib.filebasedimages.ImageFileError, OSError, EOFError, ValueError, zlib.error) as error:
        raise NiftiReadError(f"cannot read {path} as NIfTI (truncated or not a NIfTI file?): {error}") from error
    affine = _checked_affine(image, path)
    if data.size == 0:
        raise NiftiReadError(f"{path}: zero-size volume, shape {data.shape}")
    while data.ndim > 4 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim < 3 or min(data.shape[:3]) == 1:
        raise NiftiReadError(f"{path}: a 2D image (shape {data.shape}) where a 3D volume is required")
    if data.ndim > 4:
        raise NiftiReadError(f"{path}: {data.ndim}D data (shape {data.shape}) is not supported")
    if data.ndim == 4 and four_d == "refuse":
        raise NiftiReadError(f"{path}: 4D data (shape {data.shape}) refused; set four_d='split' to read each volume")
    if not np.isfinite(data).all():
        raise NiftiReadError(f"{path}: {int((~np.isfinite(data)).sum())} NaN/Inf voxels")
    volumes = [data] if data.ndim == 3 else [data[..., t] for t in range(data.shape[3])]
    for index, volume in enumerate(volumes):
        if not volume.any():
            where = f" (volume {index})" if data.ndim == 4 else ""
            raise NiftiReadError(f"{path}: all-zero volume{where}")
    return [(np.ascontiguousarray(volume), affine) for volume in volumes]


def read_volume(path: PathLikeStr, config: NiftiConfig | None = None) -> list[Volume]:
    """Read, validate and preprocess one file: RAS, resample, normalise, crop/pad (see :class:`NiftiConfig`).

    Returns one :class:`Volume` for a 3D file, one per time point for a 4D file with ``four_d="split"``.

    Raises:
        NiftiReadError: see :func:`load_nifti`; also a volume whose foreground has no intensity range.
    """
    config = config or NiftiConfig()
    loaded = load_nifti(path, config.four_d)
    out = []
    for index, (data, affine) in enumerate(loaded):
        ras = nib.as_closest_canonical(nib.Nifti1Image(data, affine))
        data, affine = np.asarray(ras.dataobj, dtype=np.float32), ras.affine
        if config.spacing is not None:
            data, affine = resample(data, affine, config.spacing)
        data = normalise(data, config.percentiles, source=str(path))
        if config.shape is not None:
            data, affine = crop_or_pad(data, affine, config.shape)
        out.append(Volume(data, affine, str(path), index if len(loaded) > 1 else None))
    return out


def resample(
    data: np.ndarray, affine: np.ndarray, spacing: float | tuple[float, float, float]
) -> tuple[npt.NDArray[np.float32], np.ndarray]:
    """Trilinear resampling to ``spacing`` mm, voxel centres aligned, Gaussian anti-aliasing when shrinking."""
    old = np.linalg.norm(affine[:3, :3], axis=0)
    ratio = np.broadcast_to(np.asarray(spacing, dtype=float), (3,)) / old
    if np.allclose(ratio, 1.0):
        return data.astype(np.float32), affine
    shape = np.maximum(1, np.round(np.array(data.shape) / ratio)).astype(int)
    sigma = np.maximum(0.0, (ratio - 1.0) / 2.0)
    smooth = ndimage.gaussian_filter(data, sigma) if sigma.any() else data
    offset = 0.5 * ratio - 0.5
    out = ndimage.affine_transform(smooth, ratio, offset, output_shape=tuple(shape), order=1, mode="nearest")
    step = np.eye(4)
    step[:3, :3] = np.diag(ratio)
    step[:3, 3] = offset
    return out.astype(np.float32), affine @ step


def normalise(data: np.ndarray, percentiles: tuple[float, float], source: str) -> npt.NDArray[np.float32]:
    """Map the ``percentiles`` of the Otsu foreground to [0, 1] and clip.

    Raises:
        NiftiReadError: the volume is constant or its foreground has no intensity range.
    """
    if float(data.max()) == float(data.min()):
        raise NiftiReadError(f"{source}: constant volume (every voxel {float(data.min()):g}), nothing to normalise")
    foreground = data[data > threshold_otsu(data)]
    low, high = np.percentile(foreground if foreground.size >= 10 else data, percentiles)
    if high <= low:
        raise NiftiReadError(f"{source}: foreground percentiles {percentiles} are equal ({low:g}); no contrast")
    return np.clip((data - low) / (high - low), 0.0, 1.0).astype(np.float32)


def crop_or_pad(
    data: np.ndarray, affine: np.ndarray, shape: tuple[int, int, int]
) -> tuple[npt.NDArray[np.float32], np.ndarray]:
    """Centre crop and/or zero pad to ``shape``; the affine follows the first voxel."""
    out = np.zeros(shape, dtype=np.float32)
    src, dst, shift = [], [], np.zeros(3)
    for axis, (have, want) in enumerate(zip(data.shape, shape, strict=True)):
        start = (have - want) // 2
        shift[axis] = start
        lo, hi = max(start, 0), min(start + want, have)
        src.append(slice(lo, hi))
        dst.append(slice(lo - start, hi - start))
    out[tuple(dst)] = data[tuple(src)]
    moved = affine.copy()
    moved[:3, 3] = affine[:3, :3] @ shift + affine[:3, 3]
    return out, moved


def _checked_affine(image: nib.Nifti1Image, path: Path) -> np.ndarray:
    affine = np.asarray(image.affine, dtype=float)
    if not np.isfinite(affine).all() or abs(np.linalg.det(affine[:3, :3])) < 1e-8:
        raise NiftiReadError(f"{path}: singular or non-finite affine (voxel-to-mm matrix {affine[:3, :3].tolist()})")
    header = image.header
    qform, qcode = header.get_qform(coded=True)
    sform, scode = header.get_sform(coded=True)
    if qcode and scode and np.abs(qform - sform).max() > AFFINE_TOLERANCE:
        raise NiftiReadError(
            f"{path}: inconsistent qform and sform (max difference {np.abs(qform - sform).max():.3g} mm)"
        )
    return affine
