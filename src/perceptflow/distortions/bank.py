"""Generate the synthetic bank: reference crops and every (reference, type, level) distortion, with a manifest.

Work runs through dask: a local thread pool sized by the rule's ``threads``, or a ``dask.distributed`` scheduler
named by the ``PERCEPTFLOW_DASK_SCHEDULER`` environment variable (an execution setting, never a rerun trigger).
Every output is a pure function of (reference, type, level, seed, scheme), so worker count and scheduling order
never change a byte.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
import pandas as pd
from PIL import Image

from perceptflow.data.demo import DEMO_SOURCES, demo_source_path
from perceptflow.data.images import ImageReadError, center_crop_resize, load_rgb
from perceptflow.distortions import apply_distortion, class_label, distortion_rng, get_distortion, level_value
from perceptflow.types import ImageArray, PathLikeStr

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
SCHEDULER_ENV = "PERCEPTFLOW_DASK_SCHEDULER"
MANIFEST_COLUMNS = (
    "image_id",
    "ref_id",
    "dist_type",
    "dist_id",
    "level",
    "class_label",
    "scheme",
    "param_value",
    "seed",
    "path",
    "ref_path",
)


@dataclass(frozen=True)
class BankSpec:
    """What to generate: reference preparation plus the (type, level) grid."""

    types: tuple[str, ...]
    levels: tuple[int, ...] = (1, 2, 3, 4, 5)
    seed: int = 0
    scheme: str = "severity"
    crop: int = 192
    resize: int | None = 192

    def __post_init__(self) -> None:
        for name in self.types:
            get_distortion(name)  # unknown type -> KeyError naming the valid choices
        bad = [level for level in self.levels if level not in range(1, 6)]
        if bad:
            raise ValueError(f"distort.levels must be within 1..5, got {bad}")
        if not self.types:
            raise ValueError("distort.types must name at least one distortion")


def collect_references(spec: Mapping[str, Any]) -> dict[str, Path]:
    """Reference files by ``ref_id`` from the ``distort.references`` config section.

    ``{kind: demo, names: [...]}`` selects bundled photographs (all when ``names`` is empty);
    ``{kind: folder, path: DIR}`` takes every image file in DIR (``ref_id`` = file stem).
    """
    kind = spec.get("kind", "demo")
    if kind == "demo":
        names = list(spec.get("names") or DEMO_SOURCES)
        return {name: demo_source_path(name) for name in names}
    if kind == "folder":
        folder = Path(spec["path"])
        if not folder.is_dir():
            raise ImageReadError(f"distort.references.path: folder not found: {folder}")
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ImageReadError(
                f"distort.references.path: no image files ({', '.join(IMAGE_SUFFIXES)}) in {folder}"
            )
        stems = [p.stem for p in files]
        duplicated = sorted({s for s in stems if stems.count(s) > 1})
        if duplicated:
            raise ImageReadError(
                f"distort.references.path: several files share the name(s) {duplicated} in {folder}"
            )
        return {p.stem: p for p in files}
    raise ValueError(f"distort.references.kind must be 'demo' or 'folder', got {kind!r}")


def prepare_references(references: Mapping[str, Path], spec: BankSpec) -> dict[str, ImageArray]:
    """Load and crop every reference up front, so a bad file fails before any distortion work."""
    return {
        ref_id: center_crop_resize(load_rgb(path), size=spec.crop, resize=spec.resize, source=str(path))
        for ref_id, path in references.items()
    }


def generate_bank(
    references: Mapping[str, Path], spec: BankSpec, *, out_dir: PathLikeStr, threads: int = 1
) -> pd.DataFrame:
    """Write reference crops to ``out_dir/refs`` and distortions to ``out_dir/dist``; return the manifest.

    Manifest paths are relative to ``out_dir``'s parent (where the workflow writes ``manifest.csv``).
    """
    out_dir = Path(out_dir)
    (out_dir / "refs").mkdir(parents=True, exist_ok=True)
    (out_dir / "dist").mkdir(parents=True, exist_ok=True)
    crops = prepare_references(references, spec)
    rows: list[dict[str, Any]] = []
    for ref_id, image in crops.items():
        ref_path = out_dir / "refs" / f"{ref_id}.png"
        _save_png(image, ref_path)
        rows.append(_row(ref_id, None, 0, spec, ref_path, ref_path, out_dir.parent))
    tasks = [
        dask.delayed(_distort_one)(crops[ref_id], ref_id, name, spec, out_dir)
        for ref_id in crops
        for name in spec.types
    ]
    for produced in _compute(tasks, threads):
        rows.extend(produced)
    manifest = pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS))
    return manifest.sort_values(["ref_id", "class_label"], kind="stable").reset_index(drop=True)


def _distort_one(
    image: ImageArray, ref_id: str, name: str, spec: BankSpec, out_dir: Path
) -> list[dict[str, Any]]:
    rows = []
    ref_path = out_dir / "refs" / f"{ref_id}.png"
    for level in spec.levels:
        rng = distortion_rng(spec.seed, ref_id, name, level)
        path = out_dir / "dist" / f"{ref_id}__{name}__{level}.png"
        _save_png(apply_distortion(image, name, level, rng, scheme=spec.scheme), path)
        rows.append(_row(ref_id, name, level, spec, path, ref_path, out_dir.parent))
    return rows


def _row(
    ref_id: str, name: str | None, level: int, spec: BankSpec, path: Path, ref_path: Path, root: Path
) -> dict[str, Any]:
    return {
        "image_id": f"{ref_id}__{name or 'pristine'}__{level}",
        "ref_id": ref_id,
        "dist_type": name or "pristine",
        "dist_id": get_distortion(name).id if name else 0,
        "level": level,
        "class_label": class_label(name, level),
        "scheme": spec.scheme,
        "param_value": level_value(name, level, spec.scheme) if name else float("nan"),
        "seed": spec.seed,
        "path": str(path.relative_to(root)),
        "ref_path": str(ref_path.relative_to(root)),
    }


def _compute(tasks: Sequence[Any], threads: int) -> list[list[dict[str, Any]]]:
    from dask.diagnostics import ProgressBar

    address = os.environ.get(SCHEDULER_ENV)
    if address:
        try:
            from dask.distributed import Client
        except ImportError as error:
            raise RuntimeError(
                f"{SCHEDULER_ENV}={address} needs dask.distributed: pip install distributed"
            ) from error
        with Client(address) as client:
            log.info("distorting on the dask.distributed scheduler at %s", address)
            return list(client.gather(client.compute(list(tasks))))
    with ProgressBar(dt=1.0):
        return list(dask.compute(*tasks, scheduler="threads", num_workers=max(1, threads)))


def _save_png(image: ImageArray, path: Path) -> None:
    Image.fromarray(image).save(path, compress_level=1)


def run_distort(
    params: Mapping[str, Any], *, out_dir: PathLikeStr, manifest_path: PathLikeStr, threads: int = 1
) -> pd.DataFrame:
    """The distort stage from its config section: generate the bank and write the manifest CSV."""
    spec = BankSpec(
        types=tuple(params["types"]),
        levels=tuple(int(level) for level in params["levels"]),
        seed=int(params["seed"]),
        scheme=str(params.get("scheme", "severity")),
        crop=int(params["crop"]),
        resize=params.get("resize"),
    )
    manifest = generate_bank(collect_references(params["references"]), spec, out_dir=out_dir, threads=threads)
    manifest.to_csv(manifest_path, index=False)
    log.info("wrote %d images of %d references to %s", len(manifest), manifest["ref_id"].nunique(), out_dir)
    return manifest
