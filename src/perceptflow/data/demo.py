"""The embedded demo: photographs that ship inside installed packages, so the demo needs no download.

Each source photograph is one content group (``ref_id``); its crops never straddle train/validation/test.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import skimage.data
import sklearn.datasets

from perceptflow.data.images import load_rgb

_SKIMAGE = Path(skimage.data.__file__).parent
_SKLEARN = Path(sklearn.datasets.__file__).parent / "images"
_MATPLOTLIB = Path(matplotlib.get_data_path()) / "sample_data"

#: ref_id -> (package, file name). Grayscale sources are read as three identical channels.
DEMO_SOURCES: dict[str, tuple[str, str]] = {
    "astronaut": ("skimage", "astronaut.png"),
    "brick": ("skimage", "brick.png"),
    "camera": ("skimage", "camera.png"),
    "cell": ("skimage", "cell.png"),
    "chelsea": ("skimage", "chelsea.png"),
    "coffee": ("skimage", "coffee.png"),
    "coins": ("skimage", "coins.png"),
    "grass": ("skimage", "grass.png"),
    "gravel": ("skimage", "gravel.png"),
    "hubble_deep_field": ("skimage", "hubble_deep_field.jpg"),
    "ihc": ("skimage", "ihc.png"),
    "moon": ("skimage", "moon.png"),
    "motorcycle": ("skimage", "motorcycle_left.png"),
    "page": ("skimage", "page.png"),
    "retina": ("skimage", "retina.jpg"),
    "rocket": ("skimage", "rocket.jpg"),
    "text": ("skimage", "text.png"),
    "china": ("sklearn", "china.jpg"),
    "flower": ("sklearn", "flower.jpg"),
    "grace_hopper": ("matplotlib", "grace_hopper.jpg"),
}

_ROOTS = {"skimage": _SKIMAGE, "sklearn": _SKLEARN, "matplotlib": _MATPLOTLIB}


def demo_source_path(ref_id: str) -> Path:
    """Path of a bundled demo photograph inside its installed package.

    Raises:
        KeyError: ``ref_id`` is not a demo source (the message lists the valid ones).
    """
    if ref_id not in DEMO_SOURCES:
        raise KeyError(f"unknown demo source {ref_id!r}; valid: {sorted(DEMO_SOURCES)}")
    package, name = DEMO_SOURCES[ref_id]
    return _ROOTS[package] / name


def load_demo_sources(names: list[str] | None = None) -> dict[str, np.ndarray]:
    """Load demo photographs as uint8 RGB arrays, keyed by ``ref_id`` (all 20 when ``names`` is None)."""
    selected = list(DEMO_SOURCES) if names is None else names
    return {ref_id: load_rgb(demo_source_path(ref_id)) for ref_id in selected}
