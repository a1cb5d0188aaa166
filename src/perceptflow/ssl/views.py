"""CONTRIQUE's training views (Madhusudana et al., IEEE TIP 2022) and a seeded sampler that makes augmentation
reproducible.

Every item is drawn with its own seed, handed out by `SeededSampler` from one ``torch.Generator``, so the
views of an epoch depend on that generator's state alone: not on worker count, worker scheduling or global
RNGs. Saving the generator state in a checkpoint is enough to replay the rest of a run exactly.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler

from perceptflow.data.decoded import DecodedImages
from perceptflow.data.images import load_rgb
from perceptflow.ssl.colorspaces import COLOR_SPACES
from perceptflow.ssl.config import TrainConfig, TrainSample
from perceptflow.ssl.distributed import rank, world_size

_COLOR_NAMES = tuple(COLOR_SPACES)
log = logging.getLogger(__name__)


class SeededSampler(Sampler[tuple[int, int]]):
    """Yields ``(index, seed)`` pairs: a fresh permutation per epoch, each index with a fresh 63-bit seed.

    Under DDP (``world > 1``) every rank draws the same permutation and seeds from an identically seeded
    generator and keeps its share ``order[rank::world]`` (``size // world`` items, the tail dropped), like
    ``DistributedSampler``: the shards are disjoint and the generators stay in step, so rank 0's saved
    generator state resumes every rank.
    """

    def __init__(self, size: int, generator: torch.Generator, *, rank: int = 0, world: int = 1) -> None:
        if world < 1 or not 0 <= rank < world:
            raise ValueError(f"rank must be in [0, world), got rank={rank}, world={world}")
        self.size = size
        self.generator = generator
        self.rank = rank
        self.world = world

    def __len__(self) -> int:
        return self.size // self.world

    def __iter__(self) -> Iterator[tuple[int, int]]:
        order = torch.randperm(self.size, generator=self.generator).tolist()
        seeds = torch.randint(0, 2**63 - 1, (self.size,), generator=self.generator).tolist()
        pairs = list(zip(order, seeds, strict=True))[self.rank :: self.world]
        return iter(pairs[: len(self)])


def make_loader(dataset: Any, config: TrainConfig, generator: torch.Generator, device: torch.device) -> DataLoader:
    """Loader over this rank's shard; under DDP ``train.batch_size`` is the global batch, split over ranks."""
    world = world_size()
    sampler = SeededSampler(len(dataset), generator, rank=rank(), world=world)
    if len(sampler) < 2:
        shared = f" shared by {world} processes" if world > 1 else ""
        raise ValueError(f"training needs at least 2 images, got {len(dataset)}{shared}")
    if config.batch_size // world < 2:
        raise ValueError(f"train.batch_size={config.batch_size} gives fewer than 2 images to each of {world} ranks")
    batch_size = min(config.batch_size // world, len(sampler))
    if batch_size < config.batch_size // world:
        log.warning(
            "only %d training images: using them all as one batch (train.batch_size=%d)",
            len(dataset),
            config.batch_size,
        )
    workers = config.num_workers
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        drop_last=True,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        persistent_workers=workers > 0,
    )


def crop_or_pad(image: Image.Image, size: int, rng: np.random.Generator) -> Image.Image:
    """Random ``size`` x ``size`` crop; an image smaller than that on either side is centre-cropped with zero
    padding instead (torchvision ``CenterCrop``), as in the reference code."""
    width, height = image.size
    if width < size or height < size:
        canvas = Image.new(image.mode, (size, size))
        canvas.paste(image, ((size - width) // 2, (size - height) // 2))
        return canvas
    left = int(rng.integers(0, width - size + 1))
    top = int(rng.integers(0, height - size + 1))
    return image.crop((left, top, left + size, top + size))


def to_uint8_tensor(image: Image.Image) -> Tensor:
    """(3, H, W) uint8 tensor of an 8-bit three-channel image."""
    return torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1).contiguous()


def images_to_float(images: Tensor) -> Tensor:
    """uint8 images (as loaders emit them: 4x cheaper to move) to float in [0, 1]; float input unchanged."""
    return images.float().div_(255.0) if images.dtype == torch.uint8 else images


class DecodedReader:
    """Training datasets read images through `read_image`: from the bank's decoded cache once the trainer attaches
    one (`perceptflow.data.decoded`), else from the file; the pixels are the same either way."""

    decoded: DecodedImages | None = None

    def read_image(self, path: Path) -> np.ndarray:
        """(H, W, 3) uint8 pixels of ``path`` (a private copy: tensors made from it may be written)."""
        if self.decoded is not None and path in self.decoded:
            return np.array(self.decoded.read(path))
        return load_rgb(path)


class TwoScaleViews(DecodedReader, Dataset[tuple[Tensor, Tensor, Tensor]]):
    """Two views of each image, one at full resolution and one downscaled by 2 (which one is random).

    Each view: bilinear downscale by its factor, `crop_or_pad` to ``crop_size``, optionally a random colour
    space (`COLOR_SPACES`, p = 1/5 each), horizontal flip with p = 1/2. No ImageNet normalisation.

    Items are ``(view_a, view_b, label)``: two (3, crop, crop) uint8 tensors (see `images_to_float`) and the
    one-hot (num_classes,) float32 class vector. Index with an ``(index, seed)`` pair from `SeededSampler`; a
    plain index uses the index as seed.
    """

    def __init__(
        self,
        samples: Sequence[TrainSample],
        *,
        crop_size: int,
        color_views: bool = False,
        num_classes: int | None = None,
    ) -> None:
        if not samples:
            raise ValueError("no training samples given")
        self.paths = [sample.path for sample in samples]
        self.labels = [sample.label for sample in samples]
        needed = max(self.labels) + 1
        if num_classes is not None and num_classes < needed:
            raise ValueError(f"num_classes={num_classes} but the samples hold label {needed - 1}")
        self.num_classes = num_classes if num_classes is not None else needed
        self.crop_size = crop_size
        self.color_views = color_views

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[Tensor, Tensor, Tensor]:
        index, seed = key if isinstance(key, tuple) else (key, key)
        rng = np.random.default_rng(seed)
        image = Image.fromarray(self.read_image(self.paths[index]))
        divisor = int(rng.integers(1, 3))
        view_a = self._view(image, divisor, rng)
        view_b = self._view(image, 3 - divisor, rng)
        label = torch.zeros(self.num_classes, dtype=torch.float32)
        label[self.labels[index]] = 1.0
        return view_a, view_b, label

    def _view(self, image: Image.Image, divisor: int, rng: np.random.Generator) -> Tensor:
        if divisor > 1:
            width, height = image.size
            size = (max(1, width // divisor), max(1, height // divisor))
            image = image.resize(size, Image.Resampling.BILINEAR)
        image = crop_or_pad(image, self.crop_size, rng)
        if self.color_views:
            image = COLOR_SPACES[_COLOR_NAMES[int(rng.integers(len(_COLOR_NAMES)))]](image)
        if rng.random() < 0.5:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return to_uint8_tensor(image)
