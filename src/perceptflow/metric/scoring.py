"""Score image files with a `LearnedMetric`: pairs grouped by reference (its features computed once), decoding of
the next batch overlapped with the current forward pass. Used by ``perceptflow score`` and by the extract stage's
``fr/<name>`` values, so both give the same numbers."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from perceptflow.data.images import ImageReadError, load_rgb
from perceptflow.metric.learned import LearnedMetric
from perceptflow.types import PathLikeStr


@dataclass(frozen=True)
class _Job:
    rows: np.ndarray
    ref: str | None


def score_files(
    metric: LearnedMetric,
    dist_paths: Sequence[PathLikeStr],
    ref_paths: Sequence[PathLikeStr] | None = None,
    *,
    batch_size: int = 32,
    decode_threads: int = 4,
    progress: bool = True,
    desc: str = "score",
) -> np.ndarray:
    """(N,) float64 scores of image files, in the order given: FR distances with ``ref_paths``, else NR.

    Raises:
        ImageReadError: a file is missing or unreadable (naming it).
        ValueError: the lists differ in length, a pair differs in size (naming both files), or the metric refuses
            the images (too small, no NR head).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if ref_paths is not None and len(ref_paths) != len(dist_paths):
        raise ValueError(f"{len(dist_paths)} distorted images but {len(ref_paths)} references")
    jobs = _jobs(dist_paths, ref_paths, batch_size)
    out = np.zeros(len(dist_paths), dtype=np.float64)
    with (
        ThreadPoolExecutor(max_workers=max(1, decode_threads)) as decode,
        tqdm(total=len(dist_paths), desc=desc, unit="img", disable=not progress) as bar,
        torch.inference_mode(),
        _autocast(metric.device),
    ):
        ref_key, ref_features = None, None
        for job, (dist, ref) in _prefetched(jobs, dist_paths, decode):
            if job.ref is not None and job.ref != ref_key and ref is not None:
                ref_key, ref_features = job.ref, metric.features(metric.prepare(ref, job.ref))
            images = metric.prepare(dist, _batch_name(dist_paths, job.rows))
            if ref_features is None or job.ref is None:
                scores = metric.no_reference(images)
            else:
                scores = metric.distance(metric.features(images), ref_features)
            out[job.rows] = scores.float().cpu().numpy()
            bar.update(len(job.rows))
    return out


def _autocast(device: torch.device) -> contextlib.AbstractContextManager:
    return torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()


def _jobs(dist_paths: Sequence[PathLikeStr], ref_paths: Sequence[PathLikeStr] | None, batch_size: int) -> list[_Job]:
    """Batches of rows: per reference (first-seen order) for FR, per image size for NR."""
    groups: dict[object, list[int]] = defaultdict(list)
    for i, path in enumerate(dist_paths):
        groups[str(ref_paths[i]) if ref_paths is not None else _size(path)].append(i)
    return [
        _Job(np.asarray(rows[start : start + batch_size]), key if ref_paths is not None else None)  # type: ignore[arg-type]
        for key, rows in groups.items()
        for start in range(0, len(rows), batch_size)
    ]


def _size(path: PathLikeStr) -> tuple[int, int]:
    try:
        with Image.open(path) as image:
            return image.size
    except (FileNotFoundError, OSError) as error:
        raise ImageReadError(f"cannot read {path} as an image: {error}") from error


def _prefetched(
    jobs: list[_Job], dist_paths: Sequence[PathLikeStr], decode: ThreadPoolExecutor
) -> Iterator[tuple[_Job, tuple[torch.Tensor, torch.Tensor | None]]]:
    """Each job with its decoded images, the next job's decoding running meanwhile."""
    if not jobs:
        return
    with ThreadPoolExecutor(max_workers=1) as prefetch:
        pending: Future = prefetch.submit(_load_job, jobs[0], dist_paths, decode, None)
        for i, job in enumerate(jobs):
            batch = pending.result()
            if i + 1 < len(jobs):
                pending = prefetch.submit(_load_job, jobs[i + 1], dist_paths, decode, job.ref)
            yield job, batch


def _load_job(
    job: _Job, dist_paths: Sequence[PathLikeStr], decode: ThreadPoolExecutor, previous_ref: str | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    names = [str(dist_paths[i]) for i in job.rows]
    images = list(decode.map(load_rgb, names))
    ref = None
    if job.ref is not None:
        width, height = _size(job.ref)
        for name, image in zip(names, images, strict=True):
            if image.shape[:2] != (height, width):
                raise ValueError(
                    f"size mismatch: {name} is {image.shape[1]}x{image.shape[0]} but its reference {job.ref} is "
                    f"{width}x{height}"
                )
        # the previous job's reference: its features are reused
        ref = _to_tensor(load_rgb(job.ref)[None]) if job.ref != previous_ref else torch.empty(0)
    return _to_tensor(np.stack(images)), ref


def _batch_name(paths: Sequence[PathLikeStr], rows: np.ndarray) -> str:
    first = str(paths[int(rows[0])])
    return first if len(rows) == 1 else f"{first} (and {len(rows) - 1} more of its size)"


def _to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255.0)
