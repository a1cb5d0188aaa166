"""Mix-up SSL (Zhang et al., "Mix-up Self-Supervised Learning for Contrast-agnostic Applications", ICME 2021,
https://arxiv.org/abs/2204.00901; Zhang et al., Mix-up SSL, ICME 2021).

A target-domain image ``x_t`` (by default a slice of the MRI volumes bundled with nilearn/nibabel) is blended
with an image of another domain ``x_o`` (the training photos of the distortion bank) at a transparency
``alpha ~ U(train.mixup.alpha_range)``::

    x = alpha * x_t + (1 - alpha) * x_o

The encoder feeds two heads: a convolutional decoder that reconstructs the target image ``x_t`` and a pooled MLP
that regresses ``alpha``. The loss is ``w_rec * MSE(x_hat_t, x_t) + w_alpha * MSE(alpha_hat, alpha)`` with the
weights ``train.mixup.reconstruction_weight`` and ``train.mixup.transparency_weight``. The paper gives no code;
the formula (alpha weighting the target), the MSE losses, the uniform alpha and the heads are perceptflow's reading.

A share ``train.mixup.held_out`` of the target images and of the photo references (the ``<ref_id>`` before
``__`` in the distort bank's file names) never enters training. After training, `transparency_srcc` scores the
transparency head on two fixed sets of held-out mixes (new pairings, crops and alphas, never trained on):
``heldout_transparency_srcc`` mixes the held-out *target* images with training-pool photos (the target domain is
what the metric is for; the other domain is only a mixing source), and ``heldout_unseen_photos_transparency_srcc``
mixes them with the held-out photo references too (the stricter figure; docs/ssl.md reports both). Features for
extraction come from the encoder.
"""

# Over 300 lines: Mix-up SSL's model, loss, dataset and held-out transparency SRCC share its blending code.

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from scipy.stats import spearmanr
from torch import Tensor, nn
from torch.nn.functional import interpolate, mse_loss
from torch.utils.data import Dataset
from torchvision.transforms import v2

from perceptflow.data.slices import demo_mri_slices, folder_images
from perceptflow.models.device import pick_device
from perceptflow.models.encoder import Encoder, build_encoder
from perceptflow.models.encoder_file import load_encoder, save_encoder
from perceptflow.ssl.config import MixupConfig, TrainConfig, TrainSample
from perceptflow.ssl.method import MethodSpec, SSLMethod
from perceptflow.ssl.views import DecodedReader, images_to_float

#: Share of the image area a random resized crop keeps: photos, and target images (whose anatomy must stay visible).
CROP_SCALE = (0.25, 1.0)
TARGET_CROP_SCALE = (0.5, 1.0)
#: Offset of the split seed from ``train.seed`` (keeps the held-out split apart from the sampler's draws).
SPLIT_SEED_OFFSET = 7919
#: Held-out metrics in the history, MLflow and the encoder metadata: held-out target images mixed with
#: training-pool photos, and with held-out photo references.
SRCC_KEY = "heldout_transparency_srcc"
UNSEEN_PHOTOS_SRCC_KEY = "heldout_unseen_photos_transparency_srcc"


def mixup_loss(
    reconstruction: Tensor,
    target: Tensor,
    alpha_pred: Tensor,
    alpha: Tensor,
    *,
    reconstruction_weight: float,
    transparency_weight: float,
) -> Tensor:
    """``w_rec * mean((x_hat - x_t)^2) + w_alpha * mean((alpha_hat - alpha)^2)``.

    Args:
        reconstruction: (B, C, H, W) reconstructed target images.
        target: (B, C, H, W) target images, same shape.
        alpha_pred: (B,) predicted transparencies.
        alpha: (B,) true transparencies.
        reconstruction_weight: w_rec >= 0.
        transparency_weight: w_alpha >= 0.

    Raises:
        ValueError: mismatched shapes.
    """
    if reconstruction.shape != target.shape:
        raise ValueError(f"reconstruction {tuple(reconstruction.shape)} and target {tuple(target.shape)} differ")
    if alpha_pred.shape != alpha.shape or alpha.ndim != 1:
        raise ValueError(f"alpha_pred and alpha must both be (B,), got {tuple(alpha_pred.shape)}, {tuple(alpha.shape)}")
    rec = mse_loss(reconstruction.float(), target.float())
    transparency = mse_loss(alpha_pred.float(), alpha.float())
    return reconstruction_weight * rec + transparency_weight * transparency


def mix(target: Tensor, other: Tensor, alpha: Tensor) -> Tensor:
    """``alpha * target + (1 - alpha) * other`` per image; images (B, 3, H, W) uint8 or float, alpha (B,)."""
    target, other = images_to_float(target), images_to_float(other)
    weight = alpha.to(target.dtype).view(-1, 1, 1, 1)
    return weight * target + (1.0 - weight) * other


class ReconstructionDecoder(nn.Module):
    """Encoder map (B, C, h, w) -> (B, 3, H, W) image in [0, 1]: 1x1 reduction, five x2 bilinear up-sampling
    stages (3x3 conv, BatchNorm, ReLU), a 3x3 output conv and a sigmoid; resized to (H, W) when the encoder's
    stride does not divide the input."""

    WIDTHS = (64, 32, 32, 16, 16, 8)

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, self.WIDTHS[0], 1)]
        for width_in, width_out in zip(self.WIDTHS[:-1], self.WIDTHS[1:], strict=True):
            layers += [
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                nn.Conv2d(width_in, width_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(width_out),
                nn.ReLU(inplace=True),
            ]
        layers += [nn.Conv2d(self.WIDTHS[-1], 3, 3, padding=1), nn.Sigmoid()]
        self.layers = nn.Sequential(*layers)

    def forward(self, features: Tensor, size: tuple[int, int]) -> Tensor:
        """Decode ``features`` to images of spatial ``size``."""
        out = self.layers(features)
        if tuple(out.shape[-2:]) != tuple(size):
            out = interpolate(out, size=size, mode="bilinear", align_corners=False)
        return out


class MixupMethod(SSLMethod):
    """Encoder, target-reconstruction decoder and transparency head (pool - Linear - ReLU - Linear - sigmoid)."""

    def __init__(self, encoder: Encoder, settings: MixupConfig, hidden: int = 128) -> None:
        super().__init__()
        channels = encoder.feature_dim
        self.encoder = encoder
        self.decoder = ReconstructionDecoder(channels)
        self.alpha_head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(channels, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, 1),
            nn.Sigmoid(),
        )
        self.reconstruction_weight = settings.reconstruction_weight
        self.transparency_weight = settings.transparency_weight

    def heads(self, mixed: Tensor) -> tuple[Tensor, Tensor]:
        """(B, 3, H, W) float mixes -> (reconstructed targets (B, 3, H, W), predicted transparencies (B,))."""
        features = self.encoder(mixed)
        return self.decoder(features, tuple(mixed.shape[-2:])), self.alpha_head(features).squeeze(1)

    @torch.no_grad()
    def predict_alpha(self, mixed: Tensor) -> Tensor:
        """Predicted transparencies (B,) of (B, 3, H, W) float mixes; call ``eval()`` first."""
        return self.alpha_head(self.encoder(mixed)).squeeze(1)

    def training_step(self, batch: Sequence[Any]) -> Tensor:
        """Loss of ``(target, other, alpha)``: two (B, 3, S, S) uint8 batches and the (B,) transparencies."""
        target, other, alpha = batch[0], batch[1], batch[2]
        reconstruction, alpha_pred = self.heads(mix(target, other, alpha))
        return mixup_loss(
            reconstruction,
            images_to_float(target),
            alpha_pred,
            alpha,
            reconstruction_weight=self.reconstruction_weight,
            transparency_weight=self.transparency_weight,
        )


def _augmentation(crop_size: int, scale: tuple[float, float], *, photo: bool) -> v2.Compose:
    steps: list[nn.Module] = [v2.RandomResizedCrop(crop_size, scale=scale, antialias=True), v2.RandomHorizontalFlip()]
    if photo:  # unseen photos generalise only when colour and brightness are no shortcut to alpha
        steps += [v2.RandomApply([v2.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8), v2.RandomGrayscale(p=0.3)]
    return v2.Compose(steps)


class MixupPairs(DecodedReader, Dataset[tuple[Tensor, Tensor, Tensor]]):
    """``(target, other, alpha)`` items: a random target image, the indexed photo and a transparency.

    Both images get a random resized crop to (3, crop, crop) uint8 (area share `CROP_SCALE` of a photo,
    `TARGET_CROP_SCALE` of a target, which is gray and replicated to 3 channels) and a horizontal flip; photos
    also get SimCLR's colour jitter (p 0.8) and grayscale (p 0.3), so colour is no shortcut to the transparency;
    ``alpha`` is a float32 scalar drawn uniformly from ``alpha_range``. Index with an ``(index, seed)`` pair
    from `perceptflow.ssl.views.SeededSampler` (a plain index is its own seed): the torch RNG is forked and
    seeded per item, so an item depends on its key alone.
    """

    def __init__(
        self,
        photos: Sequence[Path],
        targets: Sequence[npt.NDArray[np.uint8]],
        *,
        crop_size: int,
        alpha_range: tuple[float, float],
    ) -> None:
        if not photos:
            raise ValueError("no photos (other-domain images) to mix")
        if not targets:
            raise ValueError("no target-domain images to mix")
        self.photos = [Path(path) for path in photos]
        self.targets = [torch.from_numpy(np.ascontiguousarray(image)) for image in targets]
        self.alpha_range = alpha_range
        self.augment_photo = _augmentation(crop_size, CROP_SCALE, photo=True)
        self.augment_target = _augmentation(crop_size, TARGET_CROP_SCALE, photo=False)

    def __len__(self) -> int:
        return len(self.photos)

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[Tensor, Tensor, Tensor]:
        index, seed = key if isinstance(key, tuple) else (key, key)
        photo = torch.from_numpy(self.read_image(self.photos[index])).permute(2, 0, 1).contiguous()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            target = self.targets[int(torch.randint(len(self.targets), ()))]
            low, high = self.alpha_range
            alpha = low + (high - low) * torch.rand(())
            return self.augment_target(target.expand(3, -1, -1)), self.augment_photo(photo), alpha.float()


@dataclass(frozen=True)
class MixupDomains:
    """Training and held-out photos (other domain) and target images (uint8 (H, W) arrays)."""

    train_photos: list[Path]
    held_out_photos: list[Path]
    train_targets: list[npt.NDArray[np.uint8]]
    held_out_targets: list[npt.NDArray[np.uint8]]


def photo_reference(path: Path) -> str:
    """A photo's reference id: the file stem up to the first ``__`` (the distort bank's ``<ref>__<type>__<level>``)."""
    return path.stem.split("__")[0]


def split_groups(groups: Sequence[str], fraction: float, seed: int, *, what: str) -> tuple[list[int], list[int]]:
    """Indices (train, held out) of ``groups`` with ``round(fraction * distinct groups)`` whole groups held out
    (at least one when ``fraction`` > 0, never all), drawn by ``seed``.

    Raises:
        ValueError: ``fraction`` > 0 and fewer than 2 distinct groups; ``what`` names them in the message.
    """
    distinct = sorted(set(groups))
    if fraction == 0:
        return list(range(len(groups))), []
    if len(distinct) < 2:
        raise ValueError(f"train.mixup.held_out > 0 needs at least 2 {what}, got {len(distinct)}")
    count = min(len(distinct) - 1, max(1, round(fraction * len(distinct))))
    order = np.random.default_rng(seed).permutation(len(distinct))
    held = {distinct[i] for i in order[:count]}
    train = [i for i, group in enumerate(groups) if group not in held]
    return train, [i for i, group in enumerate(groups) if group in held]


def target_images(settings: MixupConfig) -> list[npt.NDArray[np.uint8]]:
    """The target-domain images of ``settings`` as uint8 (H, W) arrays.

    Raises:
        FileNotFoundError: ``folder`` target whose folder is missing or empty (named as ``train.mixup.path``).
    """
    if settings.target == "mri_demo":
        slices = demo_mri_slices(settings.slices_per_axis)
    else:
        try:
            slices = folder_images(str(settings.path))
        except FileNotFoundError as error:
            raise FileNotFoundError(f"train.mixup.path: {error}") from error
    return [np.round(item.image * 255.0).astype(np.uint8) for item in slices]


def mixup_domains(samples: Sequence[TrainSample], config: TrainConfig) -> MixupDomains:
    """Split the photos by reference and the target images one by one into training and held-out parts."""
    settings = config.mixup_settings
    photos = [sample.path for sample in samples]
    targets = target_images(settings)
    seed = config.seed + SPLIT_SEED_OFFSET
    photo_train, photo_held = split_groups(
        [photo_reference(p) for p in photos], settings.held_out, seed, what="photo references"
    )
    target_train, target_held = split_groups(
        [str(i) for i in range(len(targets))], settings.held_out, seed + 1, what="target images"
    )
    return MixupDomains(
        train_photos=[photos[i] for i in photo_train],
        held_out_photos=[photos[i] for i in photo_held],
        train_targets=[targets[i] for i in target_train],
        held_out_targets=[targets[i] for i in target_held],
    )


def mixup_dataset(samples: Sequence[TrainSample], config: TrainConfig) -> MixupPairs:
    """Training mixes: the training photos of ``samples`` with the training target images."""
    domains = mixup_domains(samples, config)
    return MixupPairs(
        domains.train_photos,
        domains.train_targets,
        crop_size=config.crop_size,
        alpha_range=config.mixup_settings.alpha_range,
    )


def held_out_pairs(
    samples: Sequence[TrainSample], config: TrainConfig, *, unseen_photos: bool = True
) -> list[tuple[Tensor, Tensor, Tensor]]:
    """``train.mixup.held_out_mixes`` fixed mixes of the held-out target images with the held-out photos
    (``unseen_photos``) or with the training-pool photos; empty when ``train.mixup.held_out`` is 0. Item ``i`` is
    photo ``i mod n`` under seed ``i``; the target images are held out either way, so no mix was trained on."""
    domains = mixup_domains(samples, config)
    if not domains.held_out_photos:
        return []
    settings = config.mixup_settings
    pairs = MixupPairs(
        domains.held_out_photos if unseen_photos else domains.train_photos,
        domains.held_out_targets,
        crop_size=config.crop_size,
        alpha_range=settings.alpha_range,
    )
    return [pairs[(i % len(pairs), i)] for i in range(settings.held_out_mixes)]


def transparency_srcc(
    method: MixupMethod,
    pairs: Sequence[tuple[Tensor, Tensor, Tensor]],
    *,
    batch_size: int = 64,
    device: torch.device | str | None = None,
) -> float:
    """Spearman correlation between predicted and true transparency over ``pairs`` of `MixupPairs` items.

    The method is put in eval mode (and left there) on ``device`` (None: the method's current device).

    Raises:
        ValueError: fewer than 2 pairs.
    """
    if len(pairs) < 2:
        raise ValueError(f"transparency_srcc needs at least 2 mixes, got {len(pairs)}")
    device = next(method.parameters()).device if device is None else torch.device(device)
    method.to(device).eval()
    predicted, true = [], []
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start : start + batch_size]
        target, other, alpha = (torch.stack([item[k] for item in chunk]).to(device) for k in range(3))
        with torch.no_grad():
            predicted.append(method.predict_alpha(mix(target, other, alpha)).float().cpu())
        true.append(alpha.float().cpu())
    srcc = spearmanr(torch.cat(predicted).numpy(), torch.cat(true).numpy()).statistic
    return float(srcc) if math.isfinite(srcc) else 0.0


def record_transparency_srcc(
    checkpoint: Path, samples: Sequence[TrainSample], config: TrainConfig, encoder_out: Path
) -> dict[str, float]:
    """After training: the held-out transparency SRCC of the method in ``checkpoint`` (the trainer's
    ``last.pt``), also written into the encoder file's metadata. Empty when ``train.mixup.held_out`` is 0.

    Raises:
        FileNotFoundError: ``checkpoint`` is missing.
    """
    pairs = held_out_pairs(samples, config, unseen_photos=False)
    if not pairs:
        return {}
    if not checkpoint.is_file():
        raise FileNotFoundError(f"mixup checkpoint not found: {checkpoint}")
    method = build_mixup(config)
    method.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True)["model"])
    device = pick_device("auto")
    scores = {
        SRCC_KEY: transparency_srcc(method, pairs, device=device),
        UNSEEN_PHOTOS_SRCC_KEY: transparency_srcc(method, held_out_pairs(samples, config), device=device),
    }
    encoder, payload = load_encoder(encoder_out)
    metadata = {**payload.get("metadata", {}), **scores, "heldout_mixes": len(pairs)}
    save_encoder(encoder, encoder_out, method=payload["method"], metadata=metadata)
    return scores


def build_mixup(config: TrainConfig) -> MixupMethod:
    """A randomly initialised Mix-up method for ``config`` (loss weights from ``train.mixup``)."""
    return MixupMethod(build_encoder(config.arch, seed=config.seed), config.mixup_settings)


SPEC = MethodSpec(
    name="mixup",
    description="Mix-up SSL: cross-domain blend (MRI slices + photos), reconstruct the target, regress transparency",
    build=build_mixup,
    make_dataset=mixup_dataset,
    after_training=record_transparency_srcc,
)
