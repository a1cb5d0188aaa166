"""LPIPS-style distance over a perceptflow encoder: unit-normalised per-layer spatial differences, weighted.

Zhang et al., "The Unreasonable Effectiveness of Deep Features as a Perceptual Metric" (CVPR 2018): channel-unit-
normalised features of chosen ResNet stages, squared difference, a non-negative 1x1 conv per layer (or a plain
channel sum), spatial mean, sum over layers. DPS adaptation (`perceptflow.dps`, docs/dps_adaptation.md) trains its
weights; the metric product (`perceptflow.metric`) scores images with it.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from perceptflow.metric.variants import check_variant
from perceptflow.models import Encoder, build_encoder

#: Default stages of the ResNet trunk whose outputs are compared (DPS uses resnet18 blocks [2, 4, 5, 7]).
DEFAULT_LAYERS: tuple[str, ...] = ("layer1", "layer2", "layer3", "layer4")
#: Small constant of the channel normalisation (as LPIPS).
_NORM_EPS = 1e-10


def channel_normalise(features: Tensor) -> Tensor:
    """(B, C, H, W) features divided by their L2 norm over channels at each position (LPIPS's unit normalisation)."""
    norm = torch.sqrt(torch.sum(features**2, dim=1, keepdim=True))
    return features / (norm + _NORM_EPS)


class PerceptualDistance(nn.Module):
    """LPIPS-style distance over chosen stages of a perceptflow ResNet encoder.

    Per layer: channel-unit-normalise both feature maps, square their difference, average over space, weight
    channels by a non-negative 1x1 conv (dropout before it) or sum them (``baseline``); sum over layers. The
    1x1 conv commutes with the spatial mean, so in eval mode this is LPIPS's order (weight, then average); in
    training, dropout drops whole channels of the pooled difference rather than single pixels.
    The 1x1 weights start at 1 (the channel sum), so an untrained ``lin`` metric equals ``baseline``.
    For ``baseline`` and ``lin`` the backbone stays in eval mode (frozen BatchNorm statistics).

    Attributes:
        variant: a key of `VARIANTS`.
        layers: names of the trunk stages compared.
        backbone: the (copied or freshly built) encoder.
        lins: per-layer ``Dropout -> Conv2d(C, 1, 1)``; empty for ``baseline``.
    """

    def __init__(
        self,
        variant: str,
        encoder: Encoder | None = None,
        *,
        arch: str | None = None,
        layers: Sequence[str] = DEFAULT_LAYERS,
        dropout: float = 0.5,
        seed: int | None = None,
    ) -> None:
        """Build the metric.

        Args:
            variant: ``baseline``, ``lin``, ``tune`` or ``scratch``.
            encoder: the pretrained encoder (required unless ``scratch``); it is deep-copied, never modified.
            arch: architecture for ``scratch`` (default: the encoder's, else ``resnet18``).
            layers: trunk stage names, in any order (``conv1``, ``bn1``, ``relu``, ``maxpool``, ``layer1``..).
            dropout: dropout probability before each 1x1 conv.
            seed: seeds the random backbone of ``scratch``.

        Raises:
            ValueError: unknown variant or layer, no layers, or no encoder for a pretrained variant.
        """
        super().__init__()
        check_variant(variant)
        if variant == "scratch":
            arch = arch or (encoder.arch if encoder is not None else "resnet18")
            backbone = build_encoder(arch, seed=seed)
        else:
            if encoder is None:
                raise ValueError(
                    f"variant {variant!r} needs a pretrained encoder (a perceptflow checkpoint via load_encoder, "
                    "or a local weights file via encoder_from_weights)"
                )
            backbone = copy.deepcopy(encoder)
        names = list(backbone.trunk._modules)
        if not layers or any(layer not in names for layer in layers):
            raise ValueError(f"layers must be a non-empty subset of {names}, got {list(layers)}")
        self.variant = variant
        self.layers = tuple(sorted(set(layers), key=names.index))
        self.backbone = backbone
        channels = self._channels()
        self.lins = nn.ModuleDict()
        if variant != "baseline":
            for layer in self.layers:
                conv = nn.Conv2d(channels[layer], 1, kernel_size=1, bias=False)
                nn.init.ones_(conv.weight)
                self.lins[layer] = nn.Sequential(nn.Dropout(dropout), conv)
        self.backbone.requires_grad_(variant in ("tune", "scratch"))
        self.train(self.training)

    def _channels(self) -> dict[str, int]:
        probe = torch.zeros(1, 3, 64, 64, device=next(self.backbone.parameters()).device)
        was_training = self.backbone.training
        self.backbone.eval()
        with torch.no_grad():
            maps = self.features(probe)
        self.backbone.train(was_training)
        return {layer: int(value.shape[1]) for layer, value in maps.items()}

    def train(self, mode: bool = True) -> PerceptualDistance:
        """Set train/eval mode; the backbone of ``baseline`` and ``lin`` always stays in eval mode."""
        super().train(mode)
        if self.variant in ("baseline", "lin"):
            self.backbone.eval()
        return self

    def features(self, images: Tensor) -> dict[str, Tensor]:
        """Outputs of the chosen trunk stages for (B, 3, H, W) float images in [0, 1]."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"expected images shaped (B, 3, H, W), got {tuple(images.shape)}")
        out: dict[str, Tensor] = {}
        x = images
        for name, module in self.backbone.trunk.named_children():
            x = module(x)
            if name in self.layers:
                out[name] = x
                if len(out) == len(self.layers):
                    break
        return out

    def pooled_difference(self, feats0: dict[str, Tensor], feats1: dict[str, Tensor]) -> dict[str, Tensor]:
        """Per layer, the spatial mean of the squared difference of channel-normalised features: (B, C) each."""
        return {
            layer: ((channel_normalise(feats0[layer]) - channel_normalise(feats1[layer])) ** 2).mean(dim=(2, 3))
            for layer in self.layers
        }

    def distance_from_pooled(self, pooled: dict[str, Tensor]) -> Tensor:
        """(B,) distances from `pooled_difference` output: channel sum (``baseline``) or the 1x1 weights."""
        total: Tensor | None = None
        for layer in self.layers:
            diff = pooled[layer]
            if self.variant == "baseline":
                value = diff.sum(dim=1)
            else:
                value = self.lins[layer](diff[:, :, None, None]).reshape(-1)
            total = value if total is None else total + value
        assert total is not None
        return total

    def _distance(self, feats0: dict[str, Tensor], feats1: dict[str, Tensor]) -> Tensor:
        return self.distance_from_pooled(self.pooled_difference(feats0, feats1))

    def forward(self, x0: Tensor, x1: Tensor) -> Tensor:
        """(B,) distances between two batches of (B, 3, H, W) float images in [0, 1]."""
        if x0.shape != x1.shape:
            raise ValueError(f"image batches differ in shape: {tuple(x0.shape)} vs {tuple(x1.shape)}")
        batch = x0.shape[0]
        feats = self.features(torch.cat([x0, x1]))
        return self._distance({k: v[:batch] for k, v in feats.items()}, {k: v[batch:] for k, v in feats.items()})

    def triplet_pooled(self, ref: Tensor, p0: Tensor, p1: Tensor) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """`pooled_difference` of (ref, p0) and of (ref, p1), from one backbone pass over all three batches."""
        batch = ref.shape[0]
        feats = self.features(torch.cat([ref, p0, p1]))
        parts = [{k: v[i * batch : (i + 1) * batch] for k, v in feats.items()} for i in range(3)]
        return self.pooled_difference(parts[0], parts[1]), self.pooled_difference(parts[0], parts[2])

    def triplet_distances(self, ref: Tensor, p0: Tensor, p1: Tensor) -> tuple[Tensor, Tensor]:
        """(d0, d1) = (D(ref, p0), D(ref, p1)), each (B,), from one backbone pass over all three batches."""
        pooled0, pooled1 = self.triplet_pooled(ref, p0, p1)
        return self.distance_from_pooled(pooled0), self.distance_from_pooled(pooled1)

    @property
    def frozen_backbone(self) -> bool:
        """True when nothing in the backbone trains (``baseline``, ``lin``): its pooled differences are fixed."""
        return not any(param.requires_grad for param in self.backbone.parameters())

    def clamp_weights(self) -> None:
        """Clamp the 1x1 layer weights to be non-negative (call after each optimiser step)."""
        with torch.no_grad():
            for lin in self.lins.values():
                conv = lin[1]  # type: ignore[index]
                assert isinstance(conv, nn.Conv2d)
                conv.weight.clamp_(min=0.0)
