"""The embedded demo: photographs that ship inside installed packages, so the demo needs no download.

Each source photograph is one content group (``ref_id``); its crops never straddle train/validation/test.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from perceptflow.data.images import load_rgb

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

#: package -> folder of its bundled images, relative to the installed package.
_DATA_FOLDERS = {"skimage": "data", "sklearn": "datasets/images", "matplotlib": "mpl-data/sample_data"}


def _package_folder(package: str) -> Path:
    """Installed folder of ``package``, found without importing it (importing all three costs seconds)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the demo needs {package!r} installed (it ships the demo photographs)")
    return Path(next(iter(spec.submodule_search_locations)))


def demo_source_path(ref_id: str) -> Path:
    """Path of a bundled demo photograph inside its installed package.

    Raises:
        KeyError: ``ref_id`` is not a demo source (the message lists the valid ones).
    """
    if ref_id not in DEMO_SOURCES:
        raise KeyError(f"unknown demo source {ref_id!r}; valid: {sorted(DEMO_SOURCES)}")
    package, name = DEMO_SOURCES[ref_id]
    return _package_folder(package) / _DATA_FOLDERS[package] / name


def load_demo_sources(names: list[str] | None = None) -> dict[str, np.ndarray]:
    """Load demo photographs as uint8 RGB arrays, keyed by ``ref_id`` (all 20 when ``names`` is None)."""
    selected = list(DEMO_SOURCES) if names is None else names
    return {ref_id: load_rgb(demo_source_path(ref_id)) for ref_id in selected}
