"""Mix-up SSL learns the transparency: SRCC >= 0.8 on held-out mixes after a short CPU run through the train stage.

Real demo data at a small scale: the bundled photos (20 references, 40 px crops) as the other domain, slices of the
bundled MRI volumes as the target; 4 photo references and 20% of the slices are held out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from perceptflow.data.demo import load_demo_sources
from perceptflow.models import load_encoder
from perceptflow.ssl.mixup import SRCC_KEY, UNSEEN_PHOTOS_SRCC_KEY
from perceptflow.ssl.stage import train_encoder

PARAMS = {
    "method": "mixup",
    "epochs": 12,
    "batch_size": 32,
    "lr": 0.1,
    "crop_size": 32,
    "seed": 0,
    "mixup": {"target": "mri_demo", "slices_per_axis": 8, "transparency_weight": 5.0, "held_out": 0.2},
}


def write_photo_manifest(root: Path, *, per_reference: int = 32, size: int = 48) -> Path:
    """Random square crops of the demo photos, resized to ``size``, named ``<ref>__crop__<k>.png``."""
    rng = np.random.default_rng(0)
    names = []
    for ref, image in load_demo_sources().items():
        height, width = image.shape[:2]
        for k in range(per_reference):
            side = int(rng.integers(min(height, width) // 4, min(height, width) + 1))
            y, x = rng.integers(0, height - side + 1), rng.integers(0, width - side + 1)
            crop = Image.fromarray(image[y : y + side, x : x + side]).resize((size, size), Image.Resampling.BILINEAR)
            crop.save(root / f"{ref}__crop__{k}.png")
            names.append(f"{ref}__crop__{k}.png")
    pd.DataFrame({"path": names, "class_label": 0}).to_csv(root / "manifest.csv", index=False)
    return root / "manifest.csv"


@pytest.mark.slow
def test_mixup__held_out_transparency_srcc_reaches_0_8(tmp_path: Path) -> None:
    manifest = write_photo_manifest(tmp_path)
    logged: list[dict] = []
    history = train_encoder(
        method="mixup",
        manifest=manifest,
        params=PARAMS,
        checkpoint_dir=tmp_path / "ckpt",
        encoder_out=tmp_path / "encoder.pt",
        gpus=0,
        threads=2,
        on_epoch=logged.append,
    )
    srcc, unseen = history[-1][SRCC_KEY], history[-1][UNSEEN_PHOTOS_SRCC_KEY]
    # Held-out MRI slices (never trained on) in new mixes: the target.
    assert srcc >= 0.8, f"held-out transparency SRCC {srcc:.3f}"
    # Unseen photo references as well: harder (measured 0.69-0.72 at this budget, docs/ssl.md), still far from chance.
    assert unseen >= 0.5, f"held-out transparency SRCC with unseen photos {unseen:.3f}"
    assert logged[-1] == {"epoch": 12, SRCC_KEY: srcc, UNSEEN_PHOTOS_SRCC_KEY: unseen}, "logged like an epoch metric"
    _, payload = load_encoder(tmp_path / "encoder.pt")
    assert payload["method"] == "mixup" and payload["metadata"][SRCC_KEY] == srcc
    assert payload["metadata"][UNSEEN_PHOTOS_SRCC_KEY] == unseen
    assert payload["metadata"]["heldout_mixes"] == 256
