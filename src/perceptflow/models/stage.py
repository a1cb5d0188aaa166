"""Entry point of the train_random_init rule (scripts/train_random_init.py calls it).

It lives beside the encoders, not in `perceptflow.ssl`: the baseline trains nothing, so an edit to a
self-supervised method must not rerun it (its code hash is the import closure of this module).
"""

from __future__ import annotations

from perceptflow.models.encoder import build_encoder
from perceptflow.models.encoder_file import save_encoder
from perceptflow.types import PathLikeStr


def train_random_init(arch: str, seed: int, encoder_out: PathLikeStr) -> None:
    """The random-init baseline: an untrained encoder of the same architecture, seeded."""
    save_encoder(build_encoder(arch, seed=seed), encoder_out, method="random_init", metadata={"seed": seed})
