"""Noise family (KADID-10k types 11-15): white, colour-component, impulse, multiplicative noise; denoise."""

from __future__ import annotations

import numpy as np
from skimage.color import rgb2ycbcr, ycbcr2rgb
from skimage.restoration import denoise_nl_means

from perceptflow.types import FloatImage


def white_noise(image: FloatImage, var: float, rng: np.random.Generator) -> FloatImage:
    """Additive Gaussian noise N(0, ``var``) on every RGB value, clipped.

    MATLAB ``imnoisegauss``: ``imnoise(I, 'gaussian', 0, var)``.
    """
    return _add_gaussian(image, var, rng)


def white_noise_color_component(image: FloatImage, var: float, rng: np.random.Generator) -> FloatImage:
    """Gaussian noise N(0, ``var``) on Y, Cb and Cr (scaled to [0, 1], clipped), back to RGB.

    MATLAB ``imnoisecolorcomp``: ``ycbcr2rgb(imnoise(rgb2ycbcr(I), 'gaussian', 0, var))``.
    """
    ycc = rgb2ycbcr(image) / 255.0
    noisy = _add_gaussian(ycc, var, rng)
    return np.clip(ycbcr2rgb(noisy * 255.0), 0.0, 1.0)


def impulse_noise(image: FloatImage, density: float, rng: np.random.Generator) -> FloatImage:
    """Salt-and-pepper noise: each RGB value independently becomes 0 or 1 with probability ``density``.

    MATLAB ``imnoise(I, 'salt & pepper', d)``: half of the hits are pepper (0), half salt (1).
    """
    if not 0.0 <= density <= 1.0:
        raise ValueError(f"impulse noise density must be within [0, 1], got {density}")
    draw = rng.random(image.shape)
    out = image.copy()
    out[draw < density / 2] = 0.0
    out[(draw >= density / 2) & (draw < density)] = 1.0
    return out


def multiplicative_noise(image: FloatImage, var: float, rng: np.random.Generator) -> FloatImage:
    """Speckle noise ``I + n * I`` with n uniform, zero-mean, of variance ``var``, clipped.

    MATLAB ``imnoisemultiplicative``: ``imnoise(I, 'speckle', var)``.
    """
    _check_var(var)
    half_width = np.sqrt(12.0 * var) / 2.0
    noise = rng.uniform(-half_width, half_width, size=image.shape).astype(image.dtype)
    return np.clip(image + noise * image, 0.0, 1.0)


def denoise(image: FloatImage, var: float, rng: np.random.Generator) -> FloatImage:
    """Gaussian noise N(0, ``var``) removed again by a denoiser, leaving its smoothing artefacts.

    MATLAB ``imdenoise`` uses the DnCNN network per channel; its weights are not available here, so this uses
    non-local means (skimage, fast mode, 5x5 patches, h = 0.6 sigma), a classical denoiser with similar
    over-smoothing of fine texture.
    """
    noisy = _add_gaussian(image, var, rng)
    sigma = float(np.sqrt(var))
    out = denoise_nl_means(
        noisy, h=0.6 * sigma, sigma=sigma, patch_size=5, patch_distance=5, fast_mode=True, channel_axis=-1
    )
    return np.clip(out, 0.0, 1.0).astype(image.dtype, copy=False)


def _add_gaussian(image: FloatImage, var: float, rng: np.random.Generator) -> FloatImage:
    _check_var(var)
    noise = rng.standard_normal(image.shape).astype(image.dtype) * np.sqrt(var).astype(image.dtype)
    return np.clip(image + noise, 0.0, 1.0)


def _check_var(var: float) -> None:
    if var < 0:
        raise ValueError(f"noise variance must be >= 0, got {var}")
