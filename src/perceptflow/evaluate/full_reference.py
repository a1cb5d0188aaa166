"""Full-reference baselines on 8-bit luminance: PSNR and SSIM (scikit-image).

Luminance is Pillow's ``convert("L")`` (ITU-R 601-2: L = 0.299 R + 0.587 G + 0.114 B, rounded to 8 bits),
the convention under which ../shared/data/live-jpeg-dev/README.md states its baselines.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from os import PathLike

import numpy as np
import pandas as pd
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from perceptflow.data.images import load_rgb
from perceptflow.types import ImageArray, PathLikeStr

#: Pixel value range of 8-bit luminance, passed to scikit-image as ``data_range``.
DATA_RANGE = 255.0

ImageOrPath = PathLikeStr | ImageArray


def luma(image_or_path: ImageOrPath) -> np.ndarray:
    """8-bit luminance (Pillow ``convert("L")``) as float64, shape (H, W).

    Args:
        image_or_path: an image file (read as RGB by :func:`perceptflow.data.images.load_rgb`), a uint8 RGB
            array (H, W, 3), or a uint8 grayscale array (H, W), returned as is.

    Raises:
        ImageReadError: the file is missing or unreadable.
        ValueError: an array that is not uint8 (H, W, 3) or (H, W).
    """
    if isinstance(image_or_path, str | PathLike):
        rgb = load_rgb(image_or_path)
    else:
        rgb = np.asarray(image_or_path)
        if rgb.dtype != np.uint8 or not (rgb.ndim == 2 or (rgb.ndim == 3 and rgb.shape[2] == 3)):
            raise ValueError(f"luma expects a uint8 (H, W, 3) or (H, W) array, got {rgb.dtype} {rgb.shape}")
        if rgb.ndim == 2:
            return rgb.astype(np.float64)
    return np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.float64)


def psnr_luma(ref: ImageOrPath, dist: ImageOrPath) -> float:
    """PSNR in dB of ``dist`` against ``ref`` on luminance, data_range 255; inf when they are identical.

    Raises:
        ValueError: the two images differ in shape (both shapes named).
    """
    reference, distorted = _pair(ref, dist)
    with np.errstate(divide="ignore"):
        return float(peak_signal_noise_ratio(reference, distorted, data_range=DATA_RANGE))


def ssim_luma(ref: ImageOrPath, dist: ImageOrPath) -> float:
    """SSIM (scikit-image defaults: 7x7 uniform window, K1 0.01, K2 0.03) on luminance, data_range 255.

    Raises:
        ValueError: the two images differ in shape (both shapes named), or are smaller than 7x7.
    """
    reference, distorted = _pair(ref, dist)
    return float(structural_similarity(reference, distorted, data_range=DATA_RANGE))


def full_reference_baselines(
    ref_paths: Sequence[PathLikeStr], dist_paths: Sequence[PathLikeStr], *, threads: int = 1
) -> pd.DataFrame:
    """PSNR and SSIM for each (reference, distorted) pair, in order.

    Pairs run on ``threads`` threads (scikit-image and Pillow release the GIL for most of the work); each
    reference is read once per call, for up to 128 distinct references.

    Returns:
        DataFrame with float columns ``psnr`` and ``ssim``, one row per pair.

    Raises:
        ValueError: the lists differ in length, ``threads`` < 1, or a pair differs in shape.
        ImageReadError: a file is missing or unreadable.
    """
    if len(ref_paths) != len(dist_paths):
        raise ValueError(f"ref_paths has {len(ref_paths)} entries but dist_paths has {len(dist_paths)}")
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    reference_luma = lru_cache(maxsize=128)(luma)

    def score(pair: tuple[PathLikeStr, PathLikeStr]) -> tuple[float, float]:
        ref_path, dist_path = pair
        reference, distorted = reference_luma(str(ref_path)), luma(dist_path)
        _check_shapes(reference, distorted, ref_path, dist_path)
        with np.errstate(divide="ignore"):
            psnr = peak_signal_noise_ratio(reference, distorted, data_range=DATA_RANGE)
        return float(psnr), float(structural_similarity(reference, distorted, data_range=DATA_RANGE))

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(score, zip(ref_paths, dist_paths, strict=True)))
    return pd.DataFrame(results, columns=["psnr", "ssim"], dtype=np.float64)


def _pair(ref: ImageOrPath, dist: ImageOrPath) -> tuple[np.ndarray, np.ndarray]:
    reference, distorted = luma(ref), luma(dist)
    _check_shapes(reference, distorted, ref, dist)
    return reference, distorted


def _check_shapes(reference: np.ndarray, distorted: np.ndarray, ref: object, dist: object) -> None:
    if reference.shape != distorted.shape:
        raise ValueError(
            f"reference {_describe(ref)} has shape {reference.shape} but distorted {_describe(dist)} has "
            f"shape {distorted.shape}"
        )


def _describe(image_or_path: object) -> str:
    return str(image_or_path) if isinstance(image_or_path, str | PathLike) else "array"
