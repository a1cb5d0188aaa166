"""Tiny seeded training sets for the SSL tests: 8 references x 3 classes (pristine, blur, noise), 48 px PNGs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from perceptflow.ssl import TrainSample

SIZE = 48


def _reference(rng: np.random.Generator, flat: bool) -> np.ndarray:
    if flat:
        return np.broadcast_to(rng.uniform(40, 215, 3), (SIZE, SIZE, 3)).copy()
    coarse = rng.uniform(40, 215, (SIZE // 8, SIZE // 8, 3)).astype(np.uint8)
    smooth = Image.fromarray(coarse).resize((SIZE, SIZE), Image.Resampling.BICUBIC)
    return np.asarray(smooth, dtype=np.float64) + rng.normal(0, 20, (SIZE, SIZE, 3))


def write_tiny_set(root: Path, *, n_references: int = 8, seed: int = 0) -> list[TrainSample]:
    """Write ``n_references`` x 3 PNGs into ``root``: class 0 pristine, 1 Gaussian blur, 2 white noise.

    Every fourth reference is flat, the others smooth colour fields with texture.
    """
    rng = np.random.default_rng(seed)
    samples = []
    for index in range(n_references):
        reference = _reference(rng, flat=index % 4 == 0)
        pristine = np.clip(reference, 0, 255).astype(np.uint8)
        blurred = np.asarray(Image.fromarray(pristine).filter(ImageFilter.GaussianBlur(2.5)))
        noisy = np.clip(reference + rng.normal(0, 50, reference.shape), 0, 255).astype(np.uint8)
        for label, image in enumerate((pristine, blurred, noisy)):
            path = root / f"ref{index}_class{label}.png"
            Image.fromarray(image).save(path)
            samples.append(TrainSample(path=path, label=label))
    return samples


@pytest.fixture(scope="session")
def tiny_samples(tmp_path_factory: pytest.TempPathFactory) -> list[TrainSample]:
    """24 training samples (8 references x 3 classes)."""
    return write_tiny_set(tmp_path_factory.mktemp("tiny_set"))
