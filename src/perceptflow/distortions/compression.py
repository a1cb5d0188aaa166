"""Compression family (KADID-10k types 9-10): JPEG2000 and JPEG round trips through Pillow's encoders."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
from PIL import Image

from perceptflow.distortions._ops import from_uint8, to_uint8
from perceptflow.types import FloatImage

#: OpenJPEG's default number of wavelet resolutions; fewer are used on images too small for it.
_JP2K_RESOLUTIONS = 6


def jpeg(image: FloatImage, quality: float, rng: np.random.Generator) -> FloatImage:
    """JPEG at ``quality`` (1-95, libjpeg scale; 4:2:0 chroma subsampling, Pillow's default), decoded back.

    MATLAB ``imcompressjpeg`` (``imwrite(..., 'Quality', q)``) also uses libjpeg's scale; tables and
    rounding differ in detail.
    """
    q = round(quality)
    if not 1 <= q <= 100:
        raise ValueError(f"JPEG quality must be within 1..100, got {quality}")
    return _round_trip(image, format="JPEG", quality=q)


def jpeg2000(image: FloatImage, ratio: float, rng: np.random.Generator) -> FloatImage:
    """JPEG2000 at compression ``ratio`` (uncompressed size / target size), irreversible 9/7 wavelet.

    MATLAB ``imcompressjp2k`` (``imwrite(..., 'jp2', 'CompressionRatio', r)``, Kakadu); here OpenJPEG via
    Pillow with ``quality_mode="rates"``. Tiny images are dominated by the codestream header, so the
    achieved ratio falls short of ``ratio`` below about 64x64.
    """
    if ratio < 1:
        raise ValueError(f"JPEG2000 compression ratio must be >= 1, got {ratio}")
    height, width = image.shape[:2]
    resolutions = max(1, min(_JP2K_RESOLUTIONS, int(math.log2(min(height, width))) + 1))
    return _round_trip(
        image, format="JPEG2000", quality_mode="rates", quality_layers=[float(ratio)],
        irreversible=True, num_resolutions=resolutions,
    )  # fmt: skip


def _round_trip(image: FloatImage, **save_args: Any) -> FloatImage:
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(image)).save(buffer, **save_args)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return from_uint8(np.asarray(decoded.convert("RGB")))
