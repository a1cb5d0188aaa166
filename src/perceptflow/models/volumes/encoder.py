"""The 3D encoder: a `UNet3D` whose pooled global and local feature maps form one feature vector per volume.

Files are plain ``torch.save`` payloads readable with ``weights_only=True``: ``format`` (`VOLUME_ENCODER_FORMAT`),
``widths``, ``feature_dim``, ``method``, ``metadata`` (plain data) and ``state_dict`` (CPU tensors).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from perceptflow.models.encoder_file import (
    EncoderFileError,
    _check_plain,
    atomic_torch_save,
    load_weights,
    read_payload,
)
from perceptflow.models.volumes.unet3d import SMALL_WIDTHS, UNet3D
from perceptflow.types import PathLikeStr

#: Value of the payload's ``format`` key; bump the suffix when the layout changes.
VOLUME_ENCODER_FORMAT = "perceptflow.volume-encoder/1"
_KEYS = ("widths", "feature_dim", "method", "metadata", "state_dict")


class VolumeEncoder(nn.Module):
    """A single-channel `UNet3D`; ``forward`` returns the spatial means of ``f_global`` and ``f_local``, concatenated.

    Attributes:
        unet: the wrapped network (``in_channels=1``).
        widths: channels per level, shallow to deep.
        multiple: spatial sizes must be multiples of this (``2 ** depth``).
        feature_dim: ``widths[-1] + widths[0]``.
    """

    def __init__(self, widths: Sequence[int] = SMALL_WIDTHS) -> None:
        super().__init__()
        self.unet = UNet3D(in_channels=1, widths=widths)
        self.widths: tuple[int, ...] = self.unet.widths
        self.multiple: int = self.unet.multiple
        self.feature_dim: int = self.widths[-1] + self.widths[0]

    def forward(self, x: Tensor) -> Tensor:
        """(B, 1, D, H, W) float32, sides multiples of `multiple` -> (B, feature_dim)."""
        f_global, f_local = self.unet(x)
        return torch.cat([f_global.mean(dim=(2, 3, 4)), f_local.mean(dim=(2, 3, 4))], dim=1)


def build_volume_encoder(widths: Sequence[int] = SMALL_WIDTHS, *, seed: int | None = None) -> VolumeEncoder:
    """A randomly initialised `VolumeEncoder`; with ``seed`` the weights depend on it alone (global RNG untouched)."""
    if seed is None:
        return VolumeEncoder(widths)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return VolumeEncoder(widths)


def save_volume_encoder(
    encoder: VolumeEncoder, path: PathLikeStr, *, method: str, metadata: dict | None = None
) -> None:
    """Write a volume-encoder file atomically (parent folders created).

    Raises:
        ValueError: ``metadata`` holds something other than plain data.
    """
    metadata = dict(metadata or {})
    _check_plain(metadata, "metadata")
    payload = {
        "format": VOLUME_ENCODER_FORMAT,
        "widths": list(encoder.widths),
        "feature_dim": encoder.feature_dim,
        "method": str(method),
        "metadata": metadata,
        "state_dict": {key: value.detach().cpu() for key, value in encoder.state_dict().items()},
    }
    atomic_torch_save(payload, path)


def _read_payload(path: Path, map_location: Any) -> dict:
    payload = read_payload(path, map_location, expected_format=VOLUME_ENCODER_FORMAT, keys=_KEYS, kind="volume encoder")
    widths = payload["widths"]
    if not isinstance(widths, list | tuple) or len(widths) < 2 or not all(isinstance(w, int) and w > 0 for w in widths):
        raise EncoderFileError(f"{path}: widths {widths!r} are not a list of at least two positive integers")
    return payload


def load_volume_encoder(path: PathLikeStr, map_location: Any = "cpu") -> tuple[VolumeEncoder, dict]:
    """Load a file written by `save_volume_encoder`.

    Returns:
        ``(encoder in eval mode, payload without "state_dict")``.

    Raises:
        FileNotFoundError: the file does not exist.
        EncoderFileError: not a volume encoder, or its weights do not match its widths.
    """
    path = Path(path)
    payload = _read_payload(path, map_location)
    what = f"a volume encoder with widths {tuple(payload['widths'])}"
    encoder = load_weights(VolumeEncoder(payload["widths"]), payload, path, what)
    return encoder, {key: value for key, value in payload.items() if key != "state_dict"}
