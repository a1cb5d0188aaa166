"""A 3D U-Net encoder-decoder, the backbone of GVSL.

Follows GVSL's backbone (He et al., "Geometric Visual Similarity Learning in 3D Medical Image Self-supervised
Pre-training", CVPR 2023): DoubleConv blocks of (Conv3d 3x3x3 -> GroupNorm -> LeakyReLU(0.2)) x 2,
max-pool down, trilinear up with skip concatenation, Kaiming init. The paper's widths are (32, 64, 128, 256, 512);
the default here is a CPU-sized (8, 16, 32, 64). The network returns both the bottleneck (global) and the last
decoder (local) feature maps.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

#: Paper-sized widths (He et al., GVSL, CVPR 2023).
PAPER_WIDTHS: tuple[int, ...] = (32, 64, 128, 256, 512)
#: Default widths: small enough to train on a CPU.
SMALL_WIDTHS: tuple[int, ...] = (8, 16, 32, 64)

_LEAK = 0.2


def group_count(channels: int) -> int:
    """GroupNorm groups for ``channels``: C/8 as in GVSL, at least 1, always dividing ``channels``."""
    groups = max(1, channels // 8)
    while channels % groups:
        groups -= 1
    return groups


class DoubleConv(nn.Sequential):
    """(Conv3d 3x3x3 -> GroupNorm(C/8) -> LeakyReLU(0.2)) x 2, spatial size preserved."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        if in_channels < 1 or out_channels < 1:
            raise ValueError(f"DoubleConv needs positive channel counts, got {in_channels} -> {out_channels}")
        super().__init__(
            nn.Conv3d(in_channels, out_channels, kernel_size=3, padding=1),
            nn.GroupNorm(group_count(out_channels), out_channels),
            nn.LeakyReLU(_LEAK, inplace=True),
            nn.Conv3d(out_channels, out_channels, kernel_size=3, padding=1),
            nn.GroupNorm(group_count(out_channels), out_channels),
            nn.LeakyReLU(_LEAK, inplace=True),
        )


def kaiming_init(module: nn.Module) -> None:
    """Kaiming-normal conv weights (LeakyReLU slope 0.2), zero biases, unit/zero GroupNorm affine."""
    for m in module.modules():
        if isinstance(m, nn.Conv3d):
            nn.init.kaiming_normal_(m.weight, a=_LEAK, nonlinearity="leaky_relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.GroupNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class UNet3D(nn.Module):
    """3D U-Net returning ``(f_global, f_local)``.

    Attributes:
        widths: channels per level, shallow to deep; ``len(widths) - 1`` poolings.
        depth: number of 2x poolings.
        multiple: spatial sizes must be multiples of ``2 ** depth``.
        global_dim: channels of ``f_global`` (``widths[-1]``).
        local_dim: channels of ``f_local`` (``widths[0]``).
    """

    def __init__(self, in_channels: int = 1, widths: Sequence[int] = SMALL_WIDTHS) -> None:
        super().__init__()
        widths = tuple(int(w) for w in widths)
        if len(widths) < 2 or min(widths) < 1:
            raise ValueError(f"UNet3D needs at least two positive widths, got {widths}")
        if in_channels < 1:
            raise ValueError(f"in_channels must be >= 1, got {in_channels}")
        self.in_channels = in_channels
        self.widths = widths
        self.depth = len(widths) - 1
        self.multiple = 2**self.depth
        self.global_dim = widths[-1]
        self.local_dim = widths[0]
        self.inc = DoubleConv(in_channels, widths[0])
        self.pool = nn.MaxPool3d(2)
        self.down = nn.ModuleList(DoubleConv(widths[i], widths[i + 1]) for i in range(self.depth))
        self.upsample = nn.Upsample(scale_factor=2, mode="trilinear", align_corners=False)
        # up[i] merges level i + 1 (upsampled) with the skip at level i, deepest first in forward.
        self.up = nn.ModuleList(DoubleConv(widths[i + 1] + widths[i], widths[i]) for i in range(self.depth))
        kaiming_init(self)

    def check_input(self, x: Tensor) -> None:
        """Raise ValueError naming the shape unless ``x`` is (B, in_channels, D, H, W), each side a multiple."""
        if x.ndim != 5 or x.shape[1] != self.in_channels:
            raise ValueError(f"UNet3D expects volumes shaped (B, {self.in_channels}, D, H, W), got {tuple(x.shape)}")
        spatial = tuple(x.shape[2:])
        if any(s == 0 or s % self.multiple for s in spatial):
            raise ValueError(
                f"UNet3D with depth {self.depth} needs D, H, W to be positive multiples of {self.multiple}, "
                f"got shape {tuple(x.shape)}; pad or crop the volume"
            )

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Encode and decode a batch of volumes.

        Args:
            x: (B, in_channels, D, H, W), each of D, H, W a multiple of ``2 ** depth``.

        Returns:
            ``f_global``: (B, widths[-1], D / 2**depth, H / 2**depth, W / 2**depth) bottleneck;
            ``f_local``: (B, widths[0], D, H, W) decoder output.
        """
        self.check_input(x)
        skips = [self.inc(x)]
        for block in self.down:
            skips.append(block(self.pool(skips[-1])))
        f_global = skips[-1]
        y = f_global
        for level in reversed(range(self.depth)):
            y = self.up[level](torch.cat([self.upsample(y), skips[level]], dim=1))
        return f_global, y
