"""The 3D self-supervised methods and the volume train stage (rules ``train_volume_encoder``, random init).

Kept apart from the 2D registry `perceptflow.ssl.METHODS`: these methods train a `VolumeEncoder` on the
``distort_volumes`` manifest under a `VolumeTrainConfig`, through the same generic trainer (checkpoint every
epoch, automatic resume, AMP on CUDA).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from perceptflow.ssl.method import MethodSpec
from perceptflow.ssl.volumes import contrastive, gvsl_training
from perceptflow.ssl.volumes.config import VolumeTrainConfig

log = logging.getLogger(__name__)

#: The 3D methods by name (``volumes.train.methods``; ``perceptflow ssl list`` shows them).
VOLUME_METHODS: dict[str, MethodSpec] = {
    "contrastive3d": contrastive.SPEC,
    "gvsl": gvsl_training.SPEC,
}


def volume_train_config(method: str, params: Mapping[str, Any]) -> VolumeTrainConfig:
    """The run config of ``method`` from ``volumes.train``: validated, keys it does not read at their defaults.

    Raises:
        ValueError: unknown method or key, or a bad value (the message names ``volumes.train.<key>``).
    """
    if method not in VOLUME_METHODS:
        raise ValueError(f"volumes.train.methods: {method!r} is not a 3D method; valid: {sorted(VOLUME_METHODS)}")
    return VolumeTrainConfig.from_dict(params).for_method(method)
