"""The distortion registry: every type as one :class:`DistortionSpec`, KADID-10k order, then DPS, then medical.

``kadis_levels`` are the KADID-10k / KADIS-700k generator's table (``imdist_generator.m``) verbatim;
``levels`` (the ``severity`` scheme) make every level perceptible at 8 bits and order them by severity
(docs/distortions.md explains each change).

The 2D image types live in :data:`DISTORTIONS`; the 3D MRI artefacts (domain ``medical``, ids >= 201,
volume in and out) in `perceptflow.distortions.medical.registry`, so that code iterating the 2D bank never meets a
volume-only type. :func:`get_distortion` and :func:`distortions_in` see both.
"""

from __future__ import annotations

import importlib
from difflib import get_close_matches

from perceptflow.distortions import blur, brightness, color, compression, noise, spatial
from perceptflow.distortions.dps import ops as dps_ops
from perceptflow.distortions.quantization import quantization
from perceptflow.distortions.sharpness_contrast import contrast_change, high_sharpen
from perceptflow.distortions.spec import DOMAINS, DistortionSpec

# fmt: off
DISTORTIONS: dict[str, DistortionSpec] = {
    "gaussian_blur": DistortionSpec(
        1, "gaussian_blur", "blur", "natural", (0.5, 1.0, 1.5, 2.5, 5.0), (0.1, 0.5, 1, 2, 5),
        "sigma (px)", blur.gaussian_blur, "Gaussian blur"),
    "lens_blur": DistortionSpec(
        2, "lens_blur", "blur", "natural", (1, 2, 4, 6, 8), (1, 2, 4, 6, 8),
        "disk radius (px)", blur.lens_blur, "defocus blur with an anti-aliased disk kernel"),
    "motion_blur": DistortionSpec(
        3, "motion_blur", "blur", "natural", (2, 4, 7, 11, 16), (1, 2, 4, 6, 10),
        "line length (px)", blur.motion_blur, "linear motion blur at a random angle"),
    "color_diffusion": DistortionSpec(
        4, "color_diffusion", "color", "natural", (1, 3, 6, 8, 12), (1, 3, 6, 8, 12),
        "amount (chroma blur std 1.5a+2 px, chroma gain a)", color.color_diffusion,
        "chroma blurred across edges and amplified"),
    "color_shift": DistortionSpec(
        5, "color_shift", "color", "natural", (1, 3, 6, 10, 16), (1, 3, 6, 8, 12),
        "green-channel shift (px)", color.color_shift, "green channel displaced at edges"),
    "color_quantization": DistortionSpec(
        6, "color_quantization", "color", "natural", (64, 48, 32, 16, 8), (64, 48, 32, 16, 8),
        "palette size (colours)", color.color_quantization, "median-cut palette with Floyd-Steinberg dither"),
    "color_saturation_hsv": DistortionSpec(
        7, "color_saturation_hsv", "color", "natural", (0.6, 0.4, 0.2, 0.0, -0.4), (0.4, 0.2, 0.1, 0, -0.4),
        "HSV saturation factor (1 = identity)", color.color_saturation_hsv, "HSV saturation scaled"),
    "color_saturation_lab": DistortionSpec(
        8, "color_saturation_lab", "color", "natural", (1.5, 2, 3, 6, 9), (1, 2, 3, 6, 9),
        "a*b* factor (1 = identity)", color.color_saturation_lab, "CIELAB chroma scaled"),
    "jpeg2000": DistortionSpec(
        9, "jpeg2000", "compression", "natural", (16, 32, 45, 120, 400), (16, 32, 45, 120, 400),
        "compression ratio", compression.jpeg2000, "JPEG2000 (OpenJPEG, 9/7 wavelet)"),
    "jpeg": DistortionSpec(
        10, "jpeg", "compression", "natural", (43, 36, 24, 7, 4), (43, 36, 24, 7, 4),
        "quality (libjpeg scale)", compression.jpeg, "JPEG (libjpeg via Pillow, 4:2:0)"),
    "white_noise": DistortionSpec(
        11, "white_noise", "noise", "natural",
        (0.001, 0.002, 0.003, 0.005, 0.01), (0.001, 0.002, 0.003, 0.005, 0.01),
        "variance (RGB in [0, 1])", noise.white_noise, "additive Gaussian noise in RGB"),
    "white_noise_color_component": DistortionSpec(
        12, "white_noise_color_component", "noise", "natural",
        (0.0001, 0.0005, 0.001, 0.002, 0.003), (0.0001, 0.0005, 0.001, 0.002, 0.003),
        "variance (YCbCr in [0, 1])", noise.white_noise_color_component,
        "additive Gaussian noise in YCbCr"),
    "impulse_noise": DistortionSpec(
        13, "impulse_noise", "noise", "natural",
        (0.001, 0.005, 0.01, 0.02, 0.03), (0.001, 0.005, 0.01, 0.02, 0.03),
        "density (fraction of RGB values)", noise.impulse_noise, "salt-and-pepper noise"),
    "multiplicative_noise": DistortionSpec(
        14, "multiplicative_noise", "noise", "natural", (0.001, 0.005, 0.01, 0.02, 0.05),
        (0.001, 0.005, 0.01, 0.02, 0.05), "variance (uniform speckle)", noise.multiplicative_noise,
        "speckle noise I + n*I"),
    "denoise": DistortionSpec(
        15, "denoise", "noise", "natural", (0.01, 0.03, 0.05, 0.1, 0.15), (0.01, 0.03, 0.05, 0.1, 0.15),
        "variance of the noise removed", noise.denoise, "Gaussian noise removed by non-local means"),
    "brighten": DistortionSpec(
        16, "brighten", "brightness", "natural", (0.1, 0.2, 0.4, 0.7, 1.1), (0.1, 0.2, 0.4, 0.7, 1.1),
        "amount (curve through 0.5 -> 0.5+a/2)", brightness.brighten, "mid-tones lifted"),
    "darken": DistortionSpec(
        17, "darken", "brightness", "natural", (0.1, 0.2, 0.3, 0.5, 0.8), (0.05, 0.1, 0.2, 0.4, 0.8),
        "amount (curve through 0.5 -> 0.5-a/2)", brightness.darken, "mid-tones lowered"),
    "mean_shift": DistortionSpec(
        18, "mean_shift", "brightness", "natural",
        (0.04, -0.08, 0.12, -0.17, 0.24), (0.15, 0.08, 0, -0.08, -0.15),
        "offset added to RGB in [0, 1]", brightness.mean_shift, "constant added to every value"),
    "jitter": DistortionSpec(
        19, "jitter", "spatial", "natural", (0.1, 0.2, 0.35, 0.6, 1), (0.05, 0.1, 0.2, 0.5, 1),
        "per-pixel shift std (px), 5 warps", spatial.jitter, "pixels scattered by random warps"),
    "non_eccentricity_patch": DistortionSpec(
        20, "non_eccentricity_patch", "spatial", "natural", (10, 30, 60, 100, 150), (20, 40, 60, 80, 100),
        "number of 16x16 patches moved", spatial.non_eccentricity_patch, "small patches copied nearby"),
    "pixelate": DistortionSpec(
        21, "pixelate", "spatial", "natural", (0.01, 0.05, 0.1, 0.2, 0.5), (0.01, 0.05, 0.1, 0.2, 0.5),
        "strength s (scale 0.95 - s^0.6)", spatial.pixelate, "nearest-neighbour down- and upscaling"),
    "quantization": DistortionSpec(
        22, "quantization", "spatial", "natural", (20, 16, 13, 10, 7), (20, 16, 13, 10, 7),
        "number of Otsu thresholds", quantization, "values quantised at multi-level Otsu thresholds"),
    "color_block": DistortionSpec(
        23, "color_block", "spatial", "natural", (1, 3, 6, 10, 15), (2, 4, 6, 8, 10),
        "number of 32x32 blocks", spatial.color_block, "random opaque colour squares"),
    "high_sharpen": DistortionSpec(
        24, "high_sharpen", "sharpness_contrast", "natural", (1, 2, 3, 6, 12), (1, 2, 3, 6, 12),
        "unsharp-mask amount (radius 3 px)", high_sharpen, "over-sharpened lightness"),
    "contrast_change": DistortionSpec(
        25, "contrast_change", "sharpness_contrast", "natural", (-0.05, -0.4, 0.1, -0.55, 0.3),
        (0.3, 0.15, 0, -0.4, -0.6), "amount (-0.2 = identity; higher = more contrast)", contrast_change,
        "tone curve raising or lowering contrast"),
    "rotate": DistortionSpec(
        101, "rotate", "spatial", "dps", (30, 60, 90, 135, 180), (),
        "angle (degrees)", dps_ops.rotate, "rotation about the centre, black corners"),
    "translate": DistortionSpec(
        102, "translate", "spatial", "dps", (0.1, 0.2, 0.3, 0.4, 0.5), (),
        "shift (fraction of size), random direction", dps_ops.translate, "shift with black fill"),
    "darken_dps": DistortionSpec(
        103, "darken_dps", "brightness", "dps", (0.5, 0.4, 0.3, 0.2, 0.1), (),
        "brightness factor", dps_ops.darken, "brightness multiplied"),
    "hue": DistortionSpec(
        104, "hue", "color", "dps", (0.1, 0.2, 0.3, 0.4, 0.5), (),
        "hue rotation (turns)", dps_ops.hue, "hue rotated"),
    "strong_blur": DistortionSpec(
        105, "strong_blur", "blur", "dps", (4, 5.5, 7, 8.5, 10), (),
        "sigma (px), 11x21 kernel", dps_ops.strong_blur, "strong Gaussian blur"),
    "zoom_in": DistortionSpec(
        106, "zoom_in", "spatial", "dps", (1.1, 1.3, 1.5, 1.75, 2.0), (),
        "magnification", dps_ops.zoom_in, "centre magnified"),
}
# fmt: on


#: The five types of the foundation demo.
FOUNDATION_TYPES = ("gaussian_blur", "white_noise", "jpeg", "jpeg2000", "contrast_change")


#: Domains whose types live in their own subpackage, by the module that holds their table (``DISTORTIONS`` there).
#: Imported on first use only, so 2D code never loads (or reruns on edits to) a modality it does not run.
DOMAIN_REGISTRIES = {"medical": "perceptflow.distortions.medical.registry"}


def domain_registry(domain: str) -> dict[str, DistortionSpec]:
    """The type table of a subpackage domain (`DOMAIN_REGISTRIES`), imported on first use."""
    table: dict[str, DistortionSpec] = importlib.import_module(DOMAIN_REGISTRIES[domain]).DISTORTIONS
    return table


def get_distortion(name: str) -> DistortionSpec:
    """The registry entry called ``name``.

    Raises:
        KeyError: unknown name; the message lists close matches and every valid name.
    """
    if name in DISTORTIONS:
        return DISTORTIONS[name]
    for domain in DOMAIN_REGISTRIES:
        table = domain_registry(domain)
        if name in table:
            return table[name]
    if name not in DISTORTIONS:
        valid = [*DISTORTIONS, *(n for d in DOMAIN_REGISTRIES for n in domain_registry(d))]
        close = get_close_matches(str(name), valid, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise KeyError(f"unknown distortion type {name!r}{hint}; valid: {', '.join(valid)}")
    return DISTORTIONS[name]


def distortions_in(domain: str) -> dict[str, DistortionSpec]:
    """The registry entries of one domain (``natural``, ``dps`` or ``medical``), registry order.

    Raises:
        ValueError: unknown domain.
    """
    if domain not in DOMAINS:
        raise ValueError(f"unknown distortion domain {domain!r}; valid: {list(DOMAINS)}")
    if domain in DOMAIN_REGISTRIES:
        return dict(domain_registry(domain))
    return {name: spec for name, spec in DISTORTIONS.items() if spec.domain == domain}
