"""Generate the synthetic bank: reference crops and every (reference, type, level) distortion, with a manifest.

Optionally (``distort.composite.enabled``) each reference also gets chains of distortions from different groups
(:mod:`perceptflow.distortions.compose`). Work runs through dask (:mod:`perceptflow.distortions.parallel`): a local
pool sized by the rule's ``threads`` or a scheduler named by ``PERCEPTFLOW_DASK_SCHEDULER`` (an execution setting,
never a rerun trigger). Every output is a pure function of (reference, type, level, seed, scheme), or of
(reference, composite index, seed, scheme), so worker count and scheduling order never change a byte.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask
import pandas as pd
from PIL import Image

from perceptflow.data.demo import DEMO_SOURCES, demo_source_path
from perceptflow.data.images import (
    IMAGE_SUFFIXES,
    ImageReadError,
    center_crop_resize,
    image_files,
    load_rgb,
    reference_folders,
)
from perceptflow.distortions import apply_distortion, class_label, distortion_rng, get_distortion, level_value
from perceptflow.distortions.compose import Chain, apply_chain, sample_chain
from perceptflow.distortions.parallel import SCHEDULER_ENV, compute_tasks
from perceptflow.distortions.spec import GROUPS
from perceptflow.types import ImageArray, PathLikeStr

log = logging.getLogger(__name__)

__all__ = ["SCHEDULER_ENV", "BankSpec", "CompositeSpec", "generate_bank", "write_bank"]

#: ``dist_type`` of a composite (chained) image.
COMPOSITE = "composite"
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
    "chain",
    "path",
    "ref_path",
)


@dataclass(frozen=True)
class CompositeSpec:
    """Optional chained distortions: ``per_reference`` chains of 1..``max_chain`` types from distinct groups."""

    enabled: bool = False
    max_chain: int = 3
    per_reference: int = 5

    def __post_init__(self) -> None:
        if not 1 <= self.max_chain <= len(GROUPS):
            raise ValueError(f"distort.composite.max_chain must be within 1..{len(GROUPS)}, got {self.max_chain}")
        if self.per_reference < 1:
            raise ValueError(f"distort.composite.per_reference must be >= 1, got {self.per_reference}")

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | None) -> CompositeSpec:
        """From the ``distort.composite`` config section (missing = disabled)."""
        section = dict(section or {})
        return cls(
            enabled=bool(section.get("enabled", False)),
            max_chain=int(section.get("max_chain", 3)),
            per_reference=int(section.get("per_reference", 5)),
        )


@dataclass(frozen=True)
class BankSpec:
    """What to generate: reference preparation, the (type, level) grid and optional composites."""

    types: tuple[str, ...]
    levels: tuple[int, ...] = (1, 2, 3, 4, 5)
    seed: int = 0
    scheme: str = "severity"
    crop: int = 192
    resize: int | None = 192
    composite: CompositeSpec = field(default_factory=CompositeSpec)

    def __post_init__(self) -> None:
        if not self.types:
            raise ValueError("distort.types must name at least one distortion")
        for name in self.types:
            try:
                spec = get_distortion(name)
            except KeyError as error:
                raise ValueError(f"distort.types: {error.args[0]}") from None
            if not spec.kadis_levels:
                raise ValueError(
                    f"distort.types: {name!r} is a {spec.domain} distortion without a class label; "
                    "DPS transforms belong in distort.dps"
                )
        bad = [level for level in self.levels if level not in range(1, 6)]
        if bad:
            raise ValueError(f"distort.levels must be within 1..5, got {bad}")


def collect_references(spec: Mapping[str, Any]) -> dict[str, Path]:
    """Reference files by ``ref_id`` from the ``distort.references`` config section.

    ``{kind: demo, names: [...]}`` selects bundled photographs (all when ``names`` is empty);
    ``{kind: folder, path: DIR}`` takes every image file in DIR (``ref_id`` = file stem); ``path`` may also be a
    glob of folders or a list of folders and globs (:func:`perceptflow.data.images.reference_folders`).
    """
    kind = spec.get("kind", "demo")
    if kind == "demo":
        names = list(spec.get("names") or DEMO_SOURCES)
        return {name: demo_source_path(name) for name in names}
    if kind == "folder":
        files = []
        for folder in reference_folders(spec["path"]):
            if not folder.is_dir():
                raise ImageReadError(f"distort.references.path: folder not found: {folder}")
            found = image_files(folder)
            if not found:
                raise ImageReadError(
                    f"distort.references.path: no image files ({', '.join(IMAGE_SUFFIXES)}) in {folder}"
                )
            files += found
        stems = [p.stem for p in files]
        duplicated = sorted({s for s in stems if stems.count(s) > 1})
        if duplicated:
            raise ImageReadError(
                f"distort.references.path: several files share the name(s) {duplicated[:5]} in {spec['path']}"
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
    references: Mapping[str, Path],
    spec: BankSpec,
    *,
    out_dir: PathLikeStr,
    threads: int = 1,
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Crop the reference files, then :func:`write_bank`; returns the manifest."""
    crops = prepare_references(references, spec)
    return write_bank(crops, spec, out_dir=out_dir, threads=threads, scheduler=scheduler)


def write_bank(
    crops: Mapping[str, ImageArray],
    spec: BankSpec,
    *,
    out_dir: PathLikeStr,
    threads: int = 1,
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Write prepared reference images to ``out_dir/refs`` and their distortions to ``out_dir/dist``.

    One dask task per (reference, type) and per composite image. Manifest paths are relative to ``out_dir``'s
    parent (where the workflow writes ``manifest.csv``); rows are sorted by reference, then class label, with a
    reference's composites last in index order.
    """
    out_dir = Path(out_dir)
    (out_dir / "refs").mkdir(parents=True, exist_ok=True)
    (out_dir / "dist").mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for ref_id, image in crops.items():
        ref_path = out_dir / "refs" / f"{ref_id}.png"
        _save_png(image, ref_path)
        rows.append(_row(f"{ref_id}__pristine__0", ref_id, (), None, spec, ref_path, out_dir))
    tasks = [
        dask.delayed(_distort_one)(crops[ref_id], ref_id, name, spec, out_dir)
        for ref_id in crops
        for name in spec.types
    ]
    if spec.composite.enabled:
        tasks += [
            dask.delayed(_composite_one)(crops[ref_id], ref_id, index, spec, out_dir)
            for ref_id in crops
            for index in range(1, spec.composite.per_reference + 1)
        ]
    for produced in compute_tasks(tasks, threads=threads, scheduler=scheduler):
        rows.extend(produced)
    manifest = pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS))
    order = manifest["class_label"].where(manifest["dist_type"] != COMPOSITE, 10**6)
    manifest = manifest.assign(_order=order).sort_values(["ref_id", "_order"], kind="stable")
    return manifest.drop(columns="_order").reset_index(drop=True)


def composite_chain(seed: int, ref_id: str, index: int, max_chain: int) -> Chain:
    """The chain of composite ``index`` (1-based) of ``ref_id``: drawn from its own (seed, ref, index) stream."""
    return sample_chain(distortion_rng(seed, ref_id, COMPOSITE, index), max_chain)


def composite_key(ref_id: str, index: int) -> str:
    """The ``ref_id`` that seeds the steps of composite ``index``: replay with ``apply_chain(..., ref_id=key)``."""
    return f"{ref_id}/{COMPOSITE}{index}"


def label_component(chain: Sequence[tuple[str, int]]) -> tuple[str, int]:
    """The step a composite is labelled by: the highest level, the earliest step on ties."""
    return max(chain, key=lambda step: step[1])


def _distort_one(image: ImageArray, ref_id: str, name: str, spec: BankSpec, out_dir: Path) -> list[dict[str, Any]]:
    rows = []
    for level in spec.levels:
        rng = distortion_rng(spec.seed, ref_id, name, level)
        path = out_dir / "dist" / f"{ref_id}__{name}__{level}.png"
        _save_png(apply_distortion(image, name, level, rng, scheme=spec.scheme), path)
        rows.append(_row(f"{ref_id}__{name}__{level}", ref_id, ((name, level),), None, spec, path, out_dir))
    return rows


def _composite_one(image: ImageArray, ref_id: str, index: int, spec: BankSpec, out_dir: Path) -> list[dict[str, Any]]:
    chain = composite_chain(spec.seed, ref_id, index, spec.composite.max_chain)
    distorted = apply_chain(image, chain, seed=spec.seed, ref_id=composite_key(ref_id, index), scheme=spec.scheme)
    image_id = f"{ref_id}__{COMPOSITE}__{index}"
    path = out_dir / "dist" / f"{image_id}.png"
    _save_png(distorted, path)
    return [_row(image_id, ref_id, chain, COMPOSITE, spec, path, out_dir)]


def _row(
    image_id: str,
    ref_id: str,
    chain: Sequence[tuple[str, int]],
    dist_type: str | None,
    spec: BankSpec,
    path: Path,
    out_dir: Path,
) -> dict[str, Any]:
    """One manifest row. ``chain`` is empty for the reference; a composite is described by its label component."""
    name, level = label_component(chain) if chain else (None, 0)
    root = out_dir.parent
    return {
        "image_id": image_id,
        "ref_id": ref_id,
        "dist_type": dist_type or name or "pristine",
        "dist_id": get_distortion(name).id if name else 0,
        "level": level,
        "class_label": class_label(name, level),
        "scheme": spec.scheme,
        "param_value": level_value(name, level, spec.scheme) if name else float("nan"),
        "seed": spec.seed,
        "chain": json.dumps([[step, int(lvl)] for step, lvl in chain]),
        "path": str(path.relative_to(root)),
        "ref_path": str((out_dir / "refs" / f"{ref_id}.png").relative_to(root)),
    }


def _save_png(image: ImageArray, path: Path) -> None:
    Image.fromarray(image).save(path, compress_level=1)


def bank_spec(params: Mapping[str, Any]) -> BankSpec:
    """A :class:`BankSpec` from the ``distort`` config section."""
    return BankSpec(
        types=tuple(params["types"]),
        levels=tuple(int(level) for level in params.get("levels", (1, 2, 3, 4, 5))),
        seed=int(params.get("seed", 0)),
        scheme=str(params.get("scheme", "severity")),
        crop=int(params["crop"]),
        resize=params.get("resize"),
        composite=CompositeSpec.from_config(params.get("composite")),
    )
