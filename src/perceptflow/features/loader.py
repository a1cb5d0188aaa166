"""Decoded image batches for extraction: a torch ``DataLoader`` decodes in worker processes, same-size images batch.

Batches come back as uint8 (B, H, W, 3) in pinned memory when the device is CUDA, so the copy to the device
overlaps compute; conversion to float and channel order happen on the device.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from perceptflow.data.images import load_rgb
from perceptflow.types import PathLikeStr


class ImageFiles(Dataset[torch.Tensor]):
    """Image files decoded to uint8 (H, W, 3) tensors."""

    def __init__(self, paths: Sequence[PathLikeStr]) -> None:
        self.paths = list(paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        return torch.from_numpy(load_rgb(self.paths[index]))


def batches_by_size(paths: Sequence[PathLikeStr], rows: Sequence[int], batch_size: int) -> list[np.ndarray]:
    """``rows`` of ``paths`` grouped by image size (first-seen order), cut into batches of ``batch_size``."""
    by_size: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i in rows:
        with Image.open(paths[i]) as image:
            by_size[image.size].append(int(i))
    return [
        np.asarray(group[start : start + batch_size], dtype=np.int64)
        for group in by_size.values()
        for start in range(0, len(group), batch_size)
    ]


def default_workers(device: torch.device, threads: int) -> int:
    """Decoding processes: up to 8 beside a GPU; on CPU one per 4 threads (the forward pass needs the cores)."""
    return min(8, max(1, threads)) if device.type == "cuda" else threads // 4


def device_batches(
    paths: Sequence[PathLikeStr],
    batches: Sequence[np.ndarray],
    device: torch.device,
    *,
    workers: int = 0,
) -> Iterator[tuple[np.ndarray, torch.Tensor]]:
    """(rows, float images (B, 3, H, W) in [0, 1] on ``device``) per batch, in the order of ``batches``."""
    loader = DataLoader(
        ImageFiles(paths),
        batch_sampler=[batch.tolist() for batch in batches],
        num_workers=workers,
        pin_memory=device.type == "cuda",
        prefetch_factor=4 if workers else None,
        persistent_workers=False,
    )
    for rows, images in zip(batches, loader, strict=True):
        on_device = images.to(device, non_blocking=True).permute(0, 3, 1, 2)
        yield rows, on_device.float().div_(255.0)
