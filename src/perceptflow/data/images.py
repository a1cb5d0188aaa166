"""Reading images as 8-bit RGB and preparing reference crops."""

from __future__ import annotations

import glob
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from perceptflow.types import ImageArray, PathLikeStr

log = logging.getLogger(__name__)


#: Image files a references folder may hold (lower-case suffixes).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def reference_folders(path: str | Sequence[str]) -> list[Path]:
    """The folders a ``distort.references.path`` names: one folder, a glob of folders, or a list of either (in the
    order given; a glob's matches sorted). Entries that match nothing come back as given, for the caller to report."""
    entries = [path] if isinstance(path, str) else list(path)
    folders: list[Path] = []
    for entry in entries:
        matches = sorted(Path(p) for p in glob.glob(entry)) if glob.has_magic(entry) else []
        folders += [p for p in matches if p.is_dir()] or [Path(entry)]
    return folders


def image_files(folder: PathLikeStr) -> list[Path]:
    """The image files of ``folder`` (`IMAGE_SUFFIXES`), sorted by name; [] when it is not a folder."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


class ImageReadError(ValueError):
    """An input file is missing, unreadable, not an image, or too small; the message names the file."""


def load_rgb(path: PathLikeStr) -> ImageArray:
    """Read an image file as uint8 RGB, shape (H, W, 3).

    Grayscale, RGBA (alpha dropped), 16-bit and palette images are converted, with a logged note.

    Raises:
        ImageReadError: the file is missing or is not a readable image.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"image file not found: {path}")
    try:
        with Image.open(path) as image:
            image.load()
            return _to_rgb8(image, path)
    except Image.DecompressionBombError as error:
        raise ImageReadError(f"{path} is too large to decode safely (decompression bomb?): {error}") from error
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ImageReadError(f"cannot read {path} as an image: {error}") from error


def _to_rgb8(image: Image.Image, path: Path) -> ImageArray:
    if image.mode == "RGB":
        return np.asarray(image, dtype=np.uint8).copy()
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        log.info("%s: %s image scaled to 8 bits and copied to 3 channels", path, image.mode)
        values = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if values.max() > 255 else 255.0
        gray = np.clip(np.round(values / peak * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if image.mode != "L":
        log.info("%s: %s image converted to RGB", path, image.mode)
    else:
        log.debug("%s: grayscale image copied to 3 channels", path)
    return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()


def center_crop_resize(image: ImageArray, *, size: int, resize: int | None, source: str) -> ImageArray:
    """Resize so the short side is ``resize`` (bicubic, antialiased; skipped when None), then centre-crop
    ``size`` x ``size``.

    Raises:
        ImageReadError: the (resized) image is smaller than the crop; the message names ``source`` and sizes.
    """
    if resize is not None:
        height, width = image.shape[:2]
        scale = resize / min(height, width)
        new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = np.asarray(Image.fromarray(image).resize(new_size, Image.Resampling.BICUBIC, reducing_gap=None))
    height, width = image.shape[:2]
    if height < size or width < size:
        raise ImageReadError(
            f"{source}: image is {width}x{height} (width x height), smaller than the configured crop {size}x{size}"
        )
    top, left = (height - size) // 2, (width - size) // 2
    return np.ascontiguousarray(image[top : top + size, left : left + size])
