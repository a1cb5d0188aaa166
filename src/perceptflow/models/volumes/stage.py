"""Entry point of the train_volume_random_init rule (scripts/train_volume_random_init.py calls it).

Beside the 3D encoders, not in `perceptflow.ssl.volumes`: an edit to a 3D method must not rerun the baseline.
"""

from __future__ import annotations

from collections.abc import Sequence

from perceptflow.models.volumes.encoder import build_volume_encoder, save_volume_encoder
from perceptflow.types import PathLikeStr


def train_volume_random_init(widths: Sequence[int], seed: int, encoder_out: PathLikeStr) -> None:
    """The random-init 3D baseline: an untrained `VolumeEncoder` of ``widths`` (``volumes.train.widths``), seeded
    by ``seed`` (``volumes.train.random_init_seed``)."""
    widths = [int(w) for w in widths]
    encoder = build_volume_encoder(widths, seed=int(seed))
    save_volume_encoder(encoder, encoder_out, method="random_init", metadata={"seed": int(seed), "widths": widths})
