"""A small BAPPS download in the official layout, built from the bundled photographs (no real data needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from perceptflow.data import load_demo_sources


def make_bapps(root: Path, per_subset: int = 6) -> Path:
    """2AFC ``val/{traditional,cnn}`` and JND ``val/traditional`` with judgements a sensible distance agrees with.

    Triplet i: a 64 x 64 crop as ``ref``; the less blurred version is p0 on even ids and p1 on odd ones, and the
    judge (fraction preferring p1) is 0.1 or 0.9 accordingly. JND pair i: ``p0`` the crop; ``p1`` the crop itself
    (``same`` 0.9) or strongly blurred (``same`` 0.1), alternating.
    """
    photos = list(load_demo_sources().values())
    for subset in ("traditional", "cnn"):
        folder = root / "2afc" / "val" / subset
        for part in ("ref", "p0", "p1", "judge"):
            (folder / part).mkdir(parents=True, exist_ok=True)
        for i in range(per_subset):
            ref = _crop(photos[i % len(photos)], i)
            mild, strong = ref.filter(ImageFilter.GaussianBlur(0.8)), ref.filter(ImageFilter.GaussianBlur(3.0))
            p0, p1 = (mild, strong) if i % 2 == 0 else (strong, mild)
            for part, image in (("ref", ref), ("p0", p0), ("p1", p1)):
                image.save(folder / part / f"{i:06d}.png")
            np.save(folder / "judge" / f"{i:06d}.npy", np.array([0.1 if i % 2 == 0 else 0.9]))
    jnd = root / "jnd" / "val" / "traditional"
    for part in ("p0", "p1", "same"):
        (jnd / part).mkdir(parents=True, exist_ok=True)
    for i in range(per_subset):
        ref = _crop(photos[(i + 3) % len(photos)], i)
        other = ref if i % 2 == 0 else ref.filter(ImageFilter.GaussianBlur(3.0))
        ref.save(jnd / "p0" / f"{i:06d}.png")
        other.save(jnd / "p1" / f"{i:06d}.png")
        np.save(jnd / "same" / f"{i:06d}.npy", np.array([0.9 if i % 2 == 0 else 0.1]))
    return root


def _crop(photo: np.ndarray, index: int) -> Image.Image:
    top, left = 8 * (index % 4), 16 * (index % 3)
    return Image.fromarray(np.ascontiguousarray(photo[top : top + 64, left : left + 64, :3]))
