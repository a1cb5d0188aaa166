"""The 3D artefact bank: preprocessed reference volumes and every (artefact, level) version, with a manifest.

References come from the ``volumes.references`` config section (``demo`` volumes shipped in installed packages,
a ``folder`` of ``.nii``/``.nii.gz`` files, or a ``csv`` with a ``path`` column relative to the CSV), are read
with :func:`perceptflow.data.volumes.nifti.read_volume` (``volumes.preprocess``), and each is distorted by every
configured artefact at every level. Outputs are float32 ``.nii.gz`` files with the volume's affine; the manifest
has the 2D bank's columns (:data:`perceptflow.distortions.bank.MANIFEST_COLUMNS`), so
:func:`perceptflow.data.datasets.load_synthetic_dataset` reads it unchanged. Every output is a pure function of
(volume, artefact, level, seed). A file that cannot be read either stops the stage with an error naming it
(``on_error: raise``) or is listed with its reason in ``skipped.csv`` (``on_error: skip``); never dropped silently.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask
import nibabel as nib
import numpy as np
import pandas as pd

from perceptflow.data.volumes.nifti import NiftiConfig, NiftiReadError, Volume, read_volume
from perceptflow.distortions.api import distortion_rng, level_value
from perceptflow.distortions.bank import MANIFEST_COLUMNS
from perceptflow.distortions.medical.api import MIN_SIDE, apply_volume_distortion, medical_class_label
from perceptflow.distortions.medical.registry import MEDICAL_DISTORTIONS
from perceptflow.distortions.parallel import compute_tasks
from perceptflow.types import PathLikeStr

log = logging.getLogger(__name__)

#: What happens to an unreadable volume: stop with its error, or list it in ``skipped.csv`` and go on.
ON_ERROR = ("raise", "skip")
#: Columns of ``skipped.csv``.
SKIPPED_COLUMNS = ("path", "reason")
#: The level scheme of the medical bank: the calibrated ``severity`` levels (docs/medical.md).
SCHEME = "severity"


@dataclass(frozen=True)
class VolumeBankSpec:
    """What to generate: preprocessing, the (artefact, level) grid, the seed and the error policy."""

    artefacts: tuple[str, ...] = tuple(MEDICAL_DISTORTIONS)
    levels: tuple[int, ...] = (1, 2, 3, 4, 5)
    seed: int = 0
    nifti: NiftiConfig = field(default_factory=lambda: NiftiConfig(spacing=3.0, shape=(64, 64, 64)))
    on_error: str = "raise"

    def __post_init__(self) -> None:
        if not self.artefacts:
            raise ValueError("volumes.distort.artefacts must name at least one artefact")
        unknown = [name for name in self.artefacts if name not in MEDICAL_DISTORTIONS]
        if unknown:
            raise ValueError(f"volumes.distort.artefacts: unknown {unknown}; valid: {', '.join(MEDICAL_DISTORTIONS)}")
        bad = [level for level in self.levels if level not in range(1, 6)]
        if bad or not self.levels:
            raise ValueError(f"volumes.distort.levels must be a non-empty list within 1..5, got {list(self.levels)}")
        if self.seed < 0:
            raise ValueError(f"volumes.distort.seed must be >= 0, got {self.seed}")
        if self.on_error not in ON_ERROR:
            raise ValueError(f"volumes.references.on_error must be one of {ON_ERROR}, got {self.on_error!r}")


def nifti_config(preprocess: Mapping[str, Any] | None) -> NiftiConfig:
    """A :class:`NiftiConfig` from the ``volumes.preprocess`` section (defaults: 3 mm, 64^3, 0.5-99.5%, refuse)."""
    section = dict(preprocess or {})
    shape = section.get("shape", 64)
    if shape is not None:
        shape = (int(shape),) * 3 if isinstance(shape, int) else tuple(int(s) for s in shape)
    spacing = section.get("spacing", 3.0)
    if isinstance(spacing, list | tuple):
        spacing = tuple(float(s) for s in spacing)
    elif spacing is not None:
        spacing = float(spacing)
    try:
        return NiftiConfig(
            spacing=spacing,
            shape=shape,
            percentiles=tuple(float(p) for p in section.get("percentiles", (0.5, 99.5))),  # type: ignore[arg-type]
            four_d=str(section.get("four_d", "refuse")),
        )
    except ValueError as error:
        raise ValueError(f"volumes.preprocess: {error}") from None


def volume_bank_spec(params: Mapping[str, Any]) -> VolumeBankSpec:
    """A :class:`VolumeBankSpec` from the ``volumes`` config section (``preprocess``, ``distort``, ``references``)."""
    distort = dict(params.get("distort") or {})
    return VolumeBankSpec(
        artefacts=tuple(distort.get("artefacts") or MEDICAL_DISTORTIONS),
        levels=tuple(int(level) for level in distort.get("levels", (1, 2, 3, 4, 5))),
        seed=int(distort.get("seed", 0)),
        nifti=nifti_config(params.get("preprocess")),
        on_error=str(dict(params.get("references") or {}).get("on_error", "raise")),
    )


def prepare_volumes(
    sources: Mapping[str, Path], config: NiftiConfig, on_error: str = "raise"
) -> tuple[dict[str, Volume], pd.DataFrame]:
    """Read and preprocess every source up front; a 4D file split into time points gives ids ``<id>_t<index>``.

    Returns:
        ``(volumes by id, skipped)``: ``skipped`` has :data:`SKIPPED_COLUMNS`, one row per file left out.

    Raises:
        NiftiReadError: with ``on_error="raise"``, the first unusable file (the message names it);
            with ``"skip"``, when no volume is left.
    """
    volumes: dict[str, Volume] = {}
    skipped: list[dict[str, str]] = []
    for source_id, path in sources.items():
        try:
            read = read_volume(path, config)
            for volume in read:
                if min(volume.data.shape) < MIN_SIDE:
                    raise NiftiReadError(
                        f"{path}: shape {volume.data.shape} after preprocessing; the artefacts need at least "
                        f"{MIN_SIDE} voxels a side (volumes.preprocess.shape/spacing)"
                    )
        except NiftiReadError as error:
            if on_error == "raise":
                raise
            log.warning("skipping %s: %s", path, error)
            skipped.append({"path": str(path), "reason": str(error)})
            continue
        for volume in read:
            volumes[source_id if volume.index is None else f"{source_id}_t{volume.index}"] = volume
    if not volumes:
        raise NiftiReadError(f"no usable volume among {len(sources)} source(s); skipped: {skipped}")
    return volumes, pd.DataFrame(skipped, columns=list(SKIPPED_COLUMNS))


def write_volume_bank(
    volumes: Mapping[str, Volume],
    spec: VolumeBankSpec,
    *,
    out_dir: PathLikeStr,
    root: PathLikeStr | None = None,
    threads: int = 1,
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Write the references to ``out_dir/refs/<id>.nii.gz`` and their artefacts to ``out_dir/dist``.

    One dask task per (volume, artefact). Manifest paths are relative to ``root`` (default ``out_dir``'s parent,
    where the workflow writes ``manifest.csv``); rows sorted by volume, then class label.
    """
    out_dir = Path(out_dir)
    root = Path(root) if root is not None else out_dir.parent
    (out_dir / "refs").mkdir(parents=True, exist_ok=True)
    (out_dir / "dist").mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for volume_id, volume in volumes.items():
        ref_path = out_dir / "refs" / f"{volume_id}.nii.gz"
        save_volume(volume.data, volume.affine, ref_path)
        rows.append(_row(f"{volume_id}__pristine__0", volume_id, None, 0, spec, ref_path, ref_path, root))
    tasks = [
        dask.delayed(_distort_one)(volumes[volume_id], volume_id, name, spec, out_dir, root)
        for volume_id in volumes
        for name in spec.artefacts
    ]
    for produced in compute_tasks(tasks, threads=threads, scheduler=scheduler):
        rows.extend(produced)
    manifest = pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS))
    return manifest.sort_values(["ref_id", "class_label"], kind="stable").reset_index(drop=True)


def save_volume(data: np.ndarray, affine: np.ndarray, path: Path) -> None:
    """A float32 NIfTI-1 file with ``affine`` as both qform and sform."""
    image = nib.Nifti1Image(np.asarray(data, dtype=np.float32), affine)
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    nib.save(image, path)


def _distort_one(
    volume: Volume, volume_id: str, name: str, spec: VolumeBankSpec, out_dir: Path, root: Path
) -> list[dict[str, Any]]:
    rows = []
    ref_path = out_dir / "refs" / f"{volume_id}.nii.gz"
    for level in spec.levels:
        rng = distortion_rng(spec.seed, volume_id, name, level)
        image_id = f"{volume_id}__{name}__{level}"
        path = out_dir / "dist" / f"{image_id}.nii.gz"
        save_volume(apply_volume_distortion(volume.data, name, level, rng, scheme=SCHEME), volume.affine, path)
        rows.append(_row(image_id, volume_id, name, level, spec, path, ref_path, root))
    return rows


def _row(
    image_id: str,
    ref_id: str,
    name: str | None,
    level: int,
    spec: VolumeBankSpec,
    path: Path,
    ref_path: Path,
    root: Path,
) -> dict[str, Any]:
    return {
        "image_id": image_id,
        "ref_id": ref_id,
        "dist_type": name or "pristine",
        "dist_id": MEDICAL_DISTORTIONS[name].id if name else 0,
        "level": level,
        "class_label": medical_class_label(name, level),
        "scheme": SCHEME,
        "param_value": level_value(name, level, SCHEME) if name else float("nan"),
        "seed": spec.seed,
        "chain": json.dumps([[name, int(level)]] if name else []),
        "path": str(path.relative_to(root)),
        "ref_path": str(ref_path.relative_to(root)),
    }
