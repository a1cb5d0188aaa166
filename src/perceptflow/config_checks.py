"""Checks before compute, torch-free: cross-key rules while the Snakefile is parsed (`check_config`, cheap: no
image is opened) and every input file in the first job (`preflight`, Snakemake's ``onstart``: headers opened, never
decoded). Each error names the config key, or the file and line. docs/reliability.md lists input -> message.
"""

from __future__ import annotations

import csv
import errno
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from PIL import Image

from perceptflow.data.images import IMAGE_SUFFIXES, reference_folders
from perceptflow.types import PathLikeStr


class ConfigCheckError(ValueError):
    """A config or input that would fail (or silently mislead) later; the message names the key or file."""


# --- duplicate YAML keys ----------------------------------------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a mapping with the same key twice (PyYAML keeps the last silently)."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise ConfigCheckError(
                f"{key_node.start_mark.name}:{line}: duplicate key {key!r} (first on line {seen[key]}); "
                "YAML would keep only the last value"
            )
        seen[key] = line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def load_yaml_strict(path: PathLikeStr) -> Any:
    """Read a YAML file, refusing duplicate mapping keys (the message names the file, line and key)."""
    with Path(path).open() as handle:
        return yaml.load(handle, Loader=_UniqueKeyLoader)  # a SafeLoader subclass


def check_config_files(paths: Iterable[PathLikeStr]) -> None:
    """`load_yaml_strict` on every config file Snakemake read (``workflow.configfiles``)."""
    for path in paths:
        if Path(path).is_file():
            load_yaml_strict(path)


# --- parse time: cross-key rules --------------------------------------------------------------------------------


def check_config(config: Mapping[str, Any]) -> None:
    """Cross-key rules the schema cannot state; run while the Snakefile is parsed, before any job.

    Raises:
        ConfigCheckError: ``regress.fractions`` not summing to 1; a training ``crop_size`` larger than
            ``distort.crop`` (the views would be zero-padded); a symlink loop in ``distort.references.path``.
    """
    fractions = (config.get("regress") or {}).get("fractions")
    if fractions is not None and not math.isclose(sum(fractions), 1.0, abs_tol=1e-6):
        raise ConfigCheckError(f"regress.fractions must sum to 1, got {list(fractions)} (sum {sum(fractions):.6g})")
    distort, train = config.get("distort") or {}, config.get("train") or {}
    crop = distort.get("crop")
    sizes = {"train.crop_size": train.get("crop_size")}
    for method, override in (train.get("overrides") or {}).items():
        sizes[f"train.overrides.{method}.crop_size"] = (override or {}).get("crop_size")
    for key, size in sizes.items():
        if crop is not None and size is not None and size > crop:
            raise ConfigCheckError(
                f"{key} = {size} is larger than distort.crop = {crop}: training views would be zero-padded; "
                f"lower {key} or raise distort.crop"
            )
    references = distort.get("references") or {}
    if references.get("kind") == "folder":
        scan_references(references["path"])


def scan_reference_folder(folder: PathLikeStr) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Image files of a references folder and the files skipped with their reason (hidden files ignored).

    Raises:
        ConfigCheckError: an entry is a symlink loop or a dangling link (one message naming it).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return [], []
    images, skipped = [], []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        try:
            entry.resolve(strict=True)
        except RuntimeError as error:  # Python < 3.13 raises RuntimeError on a loop
            raise ConfigCheckError(f"distort.references.path: {entry} is a symlink loop; remove it") from error
        except OSError as error:
            reason = "is a symlink loop" if error.errno == errno.ELOOP else "is a link to a missing file"
            raise ConfigCheckError(f"distort.references.path: {entry} {reason}; remove it") from error
        if entry.is_dir():
            skipped.append((entry, "a folder (references are read from the top level only)"))
        elif entry.suffix.lower() not in IMAGE_SUFFIXES:
            skipped.append((entry, f"unsupported file type {entry.suffix or '(none)'!r}; supported: {IMAGE_SUFFIXES}"))
        else:
            images.append(entry)
    return images, skipped


# --- first job: every file a rule will read ---------------------------------------------------------------------


def scan_references(path: str | Sequence[str]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """`scan_reference_folder` over every folder a ``distort.references.path`` names (one folder, a glob of folders
    or a list of either: `perceptflow.data.images.reference_folders`).

    Raises:
        ConfigCheckError: a named folder (or a glob's pattern) matches no folder, or an entry is a broken link.
    """
    images: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for folder in reference_folders(path):
        if not folder.is_dir():
            raise ConfigCheckError(f"distort.references.path: folder not found: {folder}")
        found, left = scan_reference_folder(folder)
        images += found
        skipped += left
    return images, skipped


def image_size(path: PathLikeStr, *, where: str) -> tuple[int, int]:
    """(width, height) from the header of ``path`` (not decoded).

    Raises:
        ConfigCheckError: missing, unreadable, or a decompression bomb; the message names ``where`` and the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigCheckError(f"{where}: image file not found: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                return image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ConfigCheckError(
            f"{where}: {path} is too large to decode safely (decompression bomb?): {error}"
        ) from error
    except (OSError, SyntaxError, ValueError) as error:
        raise ConfigCheckError(f"{where}: cannot read {path} as an image: {error}") from error


def check_references(config: Mapping[str, Any]) -> list[tuple[Path, str]]:
    """Every reference of a ``folder`` kind opens and is at least ``distort.crop`` pixels on its short side (a
    smaller one would be upscaled and used as pristine). Returns the skipped files with their reason."""
    distort = config.get("distort") or {}
    references = distort.get("references") or {}
    if references.get("kind") != "folder":
        return []
    images, skipped = scan_references(references["path"])
    crop = int(distort.get("crop", 0))
    for path in images:
        width, height = image_size(path, where="distort.references.path")
        if min(width, height) < crop:
            raise ConfigCheckError(
                f"distort.references.path: {path} is {width}x{height}, smaller than distort.crop = {crop}; "
                "it would be upscaled and used as pristine; remove it or lower distort.crop"
            )
    return skipped


def write_skipped(skipped: list[tuple[Path, str]], path: PathLikeStr) -> None:
    """``path`` (CSV ``path,reason``) listing the skipped files; written even when empty, so it is never stale."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "reason"])
        writer.writerows([str(file), reason] for file, reason in skipped)


def check_rated_csv(name: str, spec: Mapping[str, Any]) -> int:
    """A ``csv`` dataset before extraction: no empty ``dist``/``ref`` cell, every file opens, each distorted image
    has its reference's size. Returns the number of distinct references (or distorted images, without ``ref``).

    Raises:
        ConfigCheckError: naming ``datasets.<name>.path``, the CSV file and its line (the header is line 1).
    """
    csv_path = Path(spec["path"])
    where = f"datasets.{name}.path"
    if not csv_path.is_file():
        raise ConfigCheckError(f"{where}: CSV not found: {csv_path}")
    with csv_path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    sizes: dict[str, tuple[int, int]] = {}
    contents = set()
    for number, row in enumerate(rows, start=2):
        at = f"{where}: {csv_path} line {number}"
        dist, ref = (row.get("dist") or "").strip(), row.get("ref")
        if not dist:
            raise ConfigCheckError(f"{at}: empty 'dist' cell")
        if ref is not None and not ref.strip():
            raise ConfigCheckError(f"{at}: empty 'ref' cell (every row needs its reference image)")
        dist_size = image_size(csv_path.parent / dist, where=at)
        contents.add(ref.strip() if ref is not None else dist)
        if ref is None:
            continue
        if ref.strip() not in sizes:
            sizes[ref.strip()] = image_size(csv_path.parent / ref.strip(), where=at)
        if sizes[ref.strip()] != dist_size:
            raise ConfigCheckError(
                f"{at}: {dist} is {dist_size[0]}x{dist_size[1]} but its reference {ref.strip()} is "
                f"{sizes[ref.strip()][0]}x{sizes[ref.strip()][1]}; full-reference scores need equal sizes"
            )
    return len(contents)


def check_split_count(config: Mapping[str, Any], name: str, n_groups: int) -> None:
    """``regress.n_splits`` distinct content splits must exist for ``n_groups`` references: asking for more would
    repeat splits while ``metrics.json`` reported ``n_splits`` independent ones, so it is an error.

    Raises:
        ConfigCheckError: naming ``regress.n_splits``, the dataset and the number of distinct splits.
    """
    from perceptflow.regress.splits import group_counts  # numpy only; the first job imports it once

    regress = config.get("regress") or {}
    n_splits = int(regress.get("n_splits", 10))
    fractions = tuple(regress.get("fractions", (0.7, 0.1, 0.2)))
    try:
        _, n_val, n_test = group_counts(n_groups, fractions)
    except ValueError as error:
        raise ConfigCheckError(f"datasets.{name}: {error}") from error
    possible = math.comb(n_groups, n_test) * math.comb(n_groups - n_test, n_val)
    if n_splits > possible:
        raise ConfigCheckError(
            f"regress.n_splits = {n_splits}, but dataset {name!r} has {n_groups} references: only {possible} "
            f"distinct content splits exist; set regress.n_splits <= {possible} or add references"
        )


def _listed_skips(path: str | Sequence[str]) -> list[tuple[Path, str]]:
    """The skipped files of the folders that exist (a missing one is reported by `check_references`)."""
    return [skip for folder in reference_folders(path) for skip in scan_reference_folder(folder)[1]]


def preflight(config: Mapping[str, Any], results: PathLikeStr = "results") -> None:
    """The first job's checks: references, rated CSVs and split counts; for a references folder, writes
    ``<results>/distort/skipped.csv`` (the files left out, with the reason).

    Raises:
        ConfigCheckError: the first problem found, naming the key or the file and line.
    """
    distort = config.get("distort") or {}
    references = distort.get("references") or {}
    if references.get("kind") == "folder":  # listed first, so the list is there even when a check fails
        write_skipped(_listed_skips(references["path"]), Path(results) / "distort" / "skipped.csv")
    check_references(config)
    from perceptflow.data.volumes.datasets import is_volume_dataset

    for name, spec in sorted((config.get("datasets") or {}).items()):
        kind = spec.get("kind")
        if is_volume_dataset(spec):
            continue  # the 3D rules check their NIfTI files (docs/medical.md)
        if kind == "bapps":
            continue  # its folders were checked while the workflow was parsed (`wiring.bapps_score_folders`)
        if kind == "csv":
            check_split_count(config, name, check_rated_csv(name, spec))
        elif kind == "synthetic":
            if references.get("kind") == "folder":
                count = len(scan_references(references["path"])[0])
            else:
                from perceptflow.data.demo import DEMO_SOURCES

                count = len(references.get("names") or DEMO_SOURCES)
            check_split_count(config, name, count)
