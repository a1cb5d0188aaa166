"""ResNet trunks used as perceptual encoders, and CONTRIQUE's two-scale pooled features.

The encoder is a torchvision ResNet with its average pool and classifier removed (``children()[:-2]``),
trained from scratch (``weights=None``; nothing is ever downloaded). See Madhusudana et al., "Image Quality
Assessment using Contrastive Learning", IEEE TIP 31:4149-4161, 2022 (https://arxiv.org/abs/2110.13266), and
Madhusudana et al., CONTRIQUE, IEEE TIP 2022.
"""

from __future__ import annotations

from collections import OrderedDict
from difflib import get_close_matches

import torch
import torchvision
from torch import Tensor, nn
from torch.nn.functional import interpolate, normalize

#: Supported torchvision ResNet trunks and the channel count of their last convolutional map.
ARCHS: dict[str, int] = {"resnet18": 512, "resnet34": 512, "resnet50": 2048}


class Encoder(nn.Module):
    """A ResNet trunk mapping images to their last convolutional feature map.

    Attributes:
        arch: the torchvision architecture name, a key of `ARCHS`.
        feature_dim: channels C of the output map.
    """

    def __init__(self, arch: str) -> None:
        super().__init__()
        check_arch(arch)
        resnet = getattr(torchvision.models, arch)(weights=None)
        named = [(name, module) for name, module in resnet.named_children() if name not in ("avgpool", "fc")]
        self.arch = arch
        self.feature_dim = ARCHS[arch]
        self.trunk = nn.Sequential(OrderedDict(named))

    def forward(self, x: Tensor) -> Tensor:
        """Encode a batch.

        Args:
            x: (B, 3, H, W) float images in [0, 1], no ImageNet normalisation.

        Returns:
            (B, C, ceil(H/32), ceil(W/32)) feature map, C = ``feature_dim``.
        """
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"{self.arch} encoder expects images shaped (B, 3, H, W), got {tuple(x.shape)}")
        return self.trunk(x)


def check_arch(arch: str) -> None:
    """Raise ValueError naming the supported architectures when ``arch`` is not one of them."""
    if arch not in ARCHS:
        close = get_close_matches(str(arch), ARCHS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown encoder arch {arch!r}{hint}; choose one of: {', '.join(ARCHS)}")


def build_encoder(arch: str = "resnet18", *, seed: int | None = None) -> Encoder:
    """Build a randomly initialised encoder.

    Args:
        arch: a key of `ARCHS`.
        seed: when given, the initial weights depend on it alone; the global RNG is left untouched.

    Raises:
        ValueError: ``arch`` is not a key of `ARCHS`.
    """
    check_arch(arch)
    if seed is None:
        return Encoder(arch)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return Encoder(arch)


def _global_pool(feature_map: Tensor) -> Tensor:
    pooled = feature_map.float().mean(dim=(2, 3))
    return normalize(pooled, dim=1)


def pooled_features(encoder: Encoder, images: Tensor) -> Tensor:
    """CONTRIQUE's frozen two-scale features: pooled full-scale and half-scale maps, each L2-normalised.

    The half-scale copy is a bilinear, antialiased resize to (H // 2, W // 2). The encoder runs in eval mode
    under ``torch.inference_mode``; its previous train/eval mode is restored afterwards.

    Args:
        encoder: the frozen encoder.
        images: (B, 3, H, W) float images in [0, 1], H and W >= 2; moved to the encoder's device.

    Returns:
        (B, 2 * C) float32 on the encoder's device: ``[full, half]``, each half of unit L2 norm.
    """
    if images.ndim != 4 or images.shape[1] != 3 or min(images.shape[2:]) < 2:
        raise ValueError(f"pooled_features expects images shaped (B, 3, H>=2, W>=2), got {tuple(images.shape)}")
    if not images.is_floating_point():
        raise ValueError(f"pooled_features expects float images in [0, 1], got dtype {images.dtype}")
    device = next(encoder.parameters()).device
    was_training = encoder.training
    encoder.eval()
    try:
        with torch.inference_mode():
            full = images.to(device=device, dtype=torch.float32)
            half_size = (full.shape[2] // 2, full.shape[3] // 2)
            half = interpolate(full, size=half_size, mode="bilinear", align_corners=False, antialias=True)
            features = torch.cat([_global_pool(encoder(full)), _global_pool(encoder(half))], dim=1)
    finally:
        encoder.train(was_training)
    return features
