"""A DPS 2AFC triplet set from the bank's reference crops (the ``distort_dps_triplets`` rule).

Each context (a seeded ranking of the six DPS distortions, :func:`perceptflow.distortions.dps.contexts.make_rankings`)
gets ``n_triplets`` triplets; triplet ``j`` of context ``c`` uses reference ``j mod n_refs`` (sorted ids), resized
to 64x64 as DPS's loader does, and draws from its own generator keyed by (seed, reference, context, j), so the set
is byte-identical for any worker count. Layout beside the CSV: ``images/ref/<ref_id>.png`` (one per reference)
and ``images/p0``, ``images/p1``: ``<triplet_id>.png``. ``judge`` is BAPPS's: the fraction preferring p1, here 0.0
when p0's distortion ranks earlier in the context (p0 is the more similar image), else 1.0.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
import numpy as np
import pandas as pd
from PIL import Image

from perceptflow.data.images import load_rgb
from perceptflow.distortions.api import distortion_rng
from perceptflow.distortions.dps.contexts import DPS_SIZE, make_rankings, make_triplet, resize_for_dps
from perceptflow.distortions.parallel import compute_tasks
from perceptflow.types import ImageArray, PathLikeStr

log = logging.getLogger(__name__)

TRIPLET_COLUMNS = (
    "triplet_id",
    "context",
    "ranking",
    "ref_id",
    "p0_type",
    "p1_type",
    "judge",
    "seed",
    "ref_path",
    "p0_path",
    "p1_path",
)
#: Triplets per dask task.
_CHUNK = 64


@dataclass(frozen=True)
class DpsSpec:
    """``n_triplets`` triplets for each of ``rankings`` contexts, drawn with ``seed``."""

    n_triplets: int = 100
    rankings: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        for key in ("n_triplets", "rankings"):
            if getattr(self, key) < 1:
                raise ValueError(f"distort.dps.{key} must be >= 1, got {getattr(self, key)}")
        if self.seed < 0:
            raise ValueError(f"distort.dps.seed must be >= 0, got {self.seed}")

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> DpsSpec:
        """From the ``distort.dps`` config section."""
        return cls(
            n_triplets=int(section.get("n_triplets", 100)),
            rankings=int(section.get("rankings", 1)),
            seed=int(section.get("seed", 0)),
        )


def reference_patches(manifest: PathLikeStr, size: int = DPS_SIZE) -> dict[str, ImageArray]:
    """The bank's reference crops (the manifest's pristine rows), resized to ``size`` x ``size``, by ref_id.

    Raises:
        ValueError: the manifest lacks columns or has no pristine rows (naming the file).
    """
    manifest = Path(manifest)
    frame = pd.read_csv(manifest)
    missing = [c for c in ("ref_id", "dist_type", "path") if c not in frame.columns]
    if missing:
        raise ValueError(f"{manifest}: missing column(s) {missing}")
    pristine = frame[frame["dist_type"] == "pristine"].sort_values("ref_id")
    if pristine.empty:
        raise ValueError(f"{manifest}: no pristine (reference) rows to make DPS triplets from")
    return {
        str(ref_id): resize_for_dps(load_rgb(manifest.parent / path), size)
        for ref_id, path in zip(pristine["ref_id"], pristine["path"], strict=True)
    }


def generate_triplets(
    patches: Mapping[str, ImageArray],
    spec: DpsSpec,
    *,
    out_dir: PathLikeStr,
    root: PathLikeStr | None = None,
    threads: int = 1,
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Write the triplet images under ``out_dir`` and return the table (:data:`TRIPLET_COLUMNS`).

    Paths in the table are relative to ``root`` (default: ``out_dir``'s parent, where the CSV goes).
    """
    out_dir = Path(out_dir)
    root = Path(root) if root is not None else out_dir.parent
    for folder in ("ref", "p0", "p1"):
        (out_dir / folder).mkdir(parents=True, exist_ok=True)
    for ref_id, patch in patches.items():
        _save_png(patch, out_dir / "ref" / f"{ref_id}.png")
    ref_ids = sorted(patches)
    rankings = make_rankings(spec.rankings, spec.seed)
    tasks = []
    for context, ranking in enumerate(rankings):
        for start in range(0, spec.n_triplets, _CHUNK):
            indices = range(start, min(start + _CHUNK, spec.n_triplets))
            chunk_patches = {r: patches[r] for r in {ref_ids[j % len(ref_ids)] for j in indices}}
            tasks.append(
                dask.delayed(_triplet_chunk)(
                    chunk_patches, ref_ids, context, ranking, indices, spec.seed, out_dir, root
                )
            )
    rows = [row for chunk in compute_tasks(tasks, threads=threads, scheduler=scheduler) for row in chunk]
    return pd.DataFrame(rows, columns=list(TRIPLET_COLUMNS))


def triplet_rng(seed: int, ref_id: str, context: int, index: int) -> np.random.Generator:
    """The generator of triplet ``index`` of ``context``: same key, same stream, in any process."""
    return distortion_rng(seed, ref_id, f"dps_context{context}", index)


def _triplet_chunk(
    patches: Mapping[str, ImageArray],
    ref_ids: Sequence[str],
    context: int,
    ranking: Sequence[str],
    indices: range,
    seed: int,
    out_dir: Path,
    root: Path,
) -> list[dict[str, Any]]:
    rows = []
    for j in indices:
        ref_id = ref_ids[j % len(ref_ids)]
        rng = triplet_rng(seed, ref_id, context, j)
        # make_triplet's first draw picks the two ranking positions; a copy of the generator reveals them.
        first, second = copy.deepcopy(rng).choice(len(ranking), size=2, replace=False)
        _, p0, p1, judge = make_triplet(patches[ref_id], ranking, rng)
        triplet_id = f"c{context}_{j:05d}"
        paths = {name: out_dir / name / f"{triplet_id}.png" for name in ("p0", "p1")}
        _save_png(p0, paths["p0"])
        _save_png(p1, paths["p1"])
        rows.append(
            {
                "triplet_id": triplet_id,
                "context": context,
                "ranking": ">".join(ranking),
                "ref_id": ref_id,
                "p0_type": ranking[first],
                "p1_type": ranking[second],
                "judge": judge,
                "seed": seed,
                "ref_path": str((out_dir / "ref" / f"{ref_id}.png").relative_to(root)),
                "p0_path": str(paths["p0"].relative_to(root)),
                "p1_path": str(paths["p1"].relative_to(root)),
            }
        )
    return rows


def _save_png(image: ImageArray, path: Path) -> None:
    Image.fromarray(image).save(path, compress_level=1)
