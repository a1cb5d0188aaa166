"""CONTRIQUE's colour-space views (Madhusudana et al., IEEE TIP 2022): each view is re-encoded in one of five
colour spaces.

All functions map an 8-bit RGB PIL image to an 8-bit three-channel PIL image, as in the reference code
(pavancm/CONTRIQUE ``dataset_loader.colorspaces``); ``ToTensor`` then scales every channel to [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
from PIL import Image, ImageCms


def to_gray(image: Image.Image) -> Image.Image:
    """ITU-R 601-2 luma copied to three channels (torchvision's ``RandomGrayscale(p=1)``)."""
    return image.convert("L").convert("RGB")


@lru_cache(maxsize=1)
def _srgb_to_lab() -> ImageCms.ImageCmsTransform:
    srgb, lab = ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB")
    return ImageCms.buildTransformFromOpenProfiles(srgb, lab, "RGB", "LAB")


def to_lab(image: Image.Image) -> Image.Image:
    """CIELAB through LittleCMS: L scaled to 0..255, a and b offset by 128.

    Pillow stores a and b as signed bytes; read as unsigned (what the reference code's ``ToTensor`` does) a
    slightly negative a or b wraps to ~255. We re-centre them instead, so neutral colours map to 128.
    """
    lab = np.asarray(ImageCms.applyTransform(image, _srgb_to_lab()), dtype=np.uint8)
    chroma = lab[..., 1:].view(np.int8).astype(np.int16) + 128
    return Image.fromarray(np.dstack([lab[..., :1], chroma.astype(np.uint8)]))


def to_hsv(image: Image.Image) -> Image.Image:
    """Pillow's 8-bit HSV (hue scaled to 0..255)."""
    return image.convert("HSV")


def gauss_window(half_width: int = 3, sigma: float = 7 / 6) -> np.ndarray:
    """Normalised 1-D Gaussian of ``2 * half_width + 1`` taps (scikit-video's ``gen_gauss_window``)."""
    offsets = np.arange(-half_width, half_width + 1, dtype=np.float64)
    weights = np.exp(-0.5 * offsets**2 / sigma**2)
    return (weights / weights.sum()).astype(np.float32)


def _smooth(channel: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Separable correlation with half-sample symmetric borders (scipy.ndimage mode 'reflect')."""
    half = len(window) // 2
    padded = np.pad(channel, half, mode="symmetric")
    height, width = channel.shape
    rows = sum(weight * padded[i : i + height, :] for i, weight in enumerate(window))
    return sum(weight * rows[:, i : i + width] for i, weight in enumerate(window))


def to_mean_subtracted(image: Image.Image) -> Image.Image:
    """Local-mean-subtracted ("MS") transform: per channel, subtract a 7-tap Gaussian local mean (sigma 7/6),
    then min-max scale to [0, 1] (range + 1e-3) and store as 8 bits."""
    pixels = np.asarray(image, dtype=np.float32)
    window = gauss_window()
    out = np.empty_like(pixels)
    for c in range(pixels.shape[2]):
        detail = pixels[..., c] - _smooth(pixels[..., c], window)
        out[..., c] = (detail - detail.min()) / (np.ptp(detail) + 1e-3)
    return Image.fromarray((out * 255).astype(np.uint8))


def to_rgb(image: Image.Image) -> Image.Image:
    """Unchanged RGB."""
    return image


#: The five colour spaces, drawn with equal probability per view when colour views are on.
COLOR_SPACES: dict[str, Callable[[Image.Image], Image.Image]] = {
    "gray": to_gray,
    "lab": to_lab,
    "hsv": to_hsv,
    "mean_subtracted": to_mean_subtracted,
    "rgb": to_rgb,
}
