"""The 3D artefact bank: manifest columns, determinism, dataset loading, skip-with-reason and raise modes."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from perceptflow.data.datasets import load_synthetic_dataset
from perceptflow.data.volumes.nifti import NiftiReadError
from perceptflow.data.volumes.sources import collect_volume_sources
from perceptflow.distortions.bank import MANIFEST_COLUMNS
from perceptflow.distortions.medical.bank import (
    SKIPPED_COLUMNS,
    VolumeBankSpec,
    volume_bank_spec,
)
from perceptflow.distortions.medical.registry import MEDICAL_DISTORTIONS
from perceptflow.distortions.medical.stage import distort_volumes

SMALL = {"spacing": 6.0, "shape": 24}


def params(references: dict, artefacts: list[str] | None = None, levels: list[int] | None = None) -> dict:
    return {
        "references": references,
        "preprocess": SMALL,
        "distort": {"artefacts": artefacts or ["mri_blur", "mri_rician_noise"], "levels": levels or [1, 3], "seed": 0},
    }


def run(tmp: Path, p: dict, threads: int = 1) -> tuple[pd.DataFrame, pd.DataFrame, Path]:
    manifest_path = tmp / "manifest.csv"
    manifest, skipped = distort_volumes(
        p, out_dir=tmp / "volumes", manifest_path=manifest_path, skipped_path=tmp / "skipped.csv", threads=threads
    )
    return manifest, skipped, manifest_path


@pytest.fixture(scope="module")
def demo_bank(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    tmp = tmp_path_factory.mktemp("bank")
    manifest, _, path = run(tmp, params({"kind": "demo", "names": ["nibabel_anatomical"]}), threads=2)
    return manifest, path


def test_manifest__columns_rows_and_labels(demo_bank: tuple[pd.DataFrame, Path]) -> None:
    _manifest, path = demo_bank
    on_disk = pd.read_csv(path)
    assert tuple(on_disk.columns) == MANIFEST_COLUMNS
    assert len(on_disk) == 1 + 2 * 2
    pristine = on_disk[on_disk["dist_type"] == "pristine"].iloc[0]
    assert pristine["level"] == 0 and pristine["class_label"] == 0 and pristine["path"] == pristine["ref_path"]
    blur3 = on_disk[on_disk["image_id"] == "nibabel_anatomical__mri_blur__3"].iloc[0]
    assert blur3["dist_id"] == 205 and blur3["class_label"] == (205 - 201) * 5 + 3
    assert blur3["param_value"] == pytest.approx(MEDICAL_DISTORTIONS["mri_blur"].levels[2])
    assert json.loads(blur3["chain"]) == [["mri_blur", 3]] and blur3["scheme"] == "severity"
    assert blur3["path"] == "volumes/dist/nibabel_anatomical__mri_blur__3.nii.gz"
    assert blur3["ref_path"] == "volumes/refs/nibabel_anatomical.nii.gz"
    ref = nib.load(path.parent / blur3["ref_path"])
    dist = nib.load(path.parent / blur3["path"])
    assert ref.shape == dist.shape == (24, 24, 24) and dist.get_data_dtype() == np.float32
    np.testing.assert_allclose(dist.affine, ref.affine)
    np.testing.assert_allclose(np.linalg.norm(ref.affine[:3, :3], axis=0), [6.0, 6.0, 6.0])
    assert not np.array_equal(np.asarray(dist.dataobj), np.asarray(ref.dataobj))


def test_manifest__loads_as_synthetic_dataset(demo_bank: tuple[pd.DataFrame, Path]) -> None:
    _, path = demo_bank
    table = load_synthetic_dataset(path)
    assert len(table.frame) == 4 and table.n_refs == 1 and table.has_references
    assert sorted(table.frame["target"]) == [1.0, 1.0, 3.0, 3.0]
    assert all(Path(p).is_file() for p in table.frame["path"])


def test_bank__deterministic_across_runs_and_threads(demo_bank: tuple[pd.DataFrame, Path], tmp_path: Path) -> None:
    manifest, path = demo_bank
    again, _, again_path = run(tmp_path, params({"kind": "demo", "names": ["nibabel_anatomical"]}), threads=1)
    pd.testing.assert_frame_equal(manifest, again)
    for rel in manifest["path"]:
        a = np.asarray(nib.load(path.parent / rel).dataobj)
        b = np.asarray(nib.load(again_path.parent / rel).dataobj)
        assert np.array_equal(a, b), rel
    other = params({"kind": "demo", "names": ["nibabel_anatomical"]})
    other["distort"]["seed"] = 1
    _, _, other_path = run(tmp_path / "seed1", other)
    noise = "volumes/dist/nibabel_anatomical__mri_rician_noise__1.nii.gz"
    blur = "volumes/dist/nibabel_anatomical__mri_blur__1.nii.gz"
    assert not np.array_equal(
        nib.load(path.parent / noise).get_fdata(), nib.load(other_path.parent / noise).get_fdata()
    )
    assert np.array_equal(nib.load(path.parent / blur).get_fdata(), nib.load(other_path.parent / blur).get_fdata())


@pytest.fixture
def folder_with_bad_files(tmp_path: Path, demo_paths: dict[str, Path]) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    good = demo_paths["nibabel_anatomical"].read_bytes()
    (folder / "good.nii").write_bytes(good)
    (folder / "truncated.nii").write_bytes(good[: len(good) // 3])
    nib.save(nib.Nifti1Image(np.zeros((16, 16, 16), np.float32), np.diag([2.0, 2.0, 2.0, 1.0])), folder / "zero.nii.gz")
    return folder


def test_skip__bad_files_listed_with_reason(folder_with_bad_files: Path, tmp_path: Path) -> None:
    refs = {"kind": "folder", "path": str(folder_with_bad_files), "on_error": "skip"}
    manifest, _skipped, _ = run(tmp_path / "out", params(refs, ["mri_gamma"], [2]))
    assert sorted(manifest["ref_id"].unique()) == ["good"] and len(manifest) == 2
    on_disk = pd.read_csv(tmp_path / "out" / "skipped.csv")
    assert tuple(on_disk.columns) == SKIPPED_COLUMNS
    reasons = dict(zip([Path(p).name for p in on_disk["path"]], on_disk["reason"], strict=True))
    assert set(reasons) == {"truncated.nii", "zero.nii.gz"}
    assert "truncated or not a NIfTI file" in reasons["truncated.nii"]
    assert "all-zero volume" in reasons["zero.nii.gz"]


def test_skip__empty_skipped_csv_is_written(demo_bank: tuple[pd.DataFrame, Path]) -> None:
    _, path = demo_bank
    skipped = pd.read_csv(path.parent / "skipped.csv")
    assert tuple(skipped.columns) == SKIPPED_COLUMNS and skipped.empty


def test_raise__error_names_the_file(folder_with_bad_files: Path, tmp_path: Path) -> None:
    refs = {"kind": "folder", "path": str(folder_with_bad_files), "on_error": "raise"}
    with pytest.raises(NiftiReadError, match=r"truncated\.nii"):
        run(tmp_path / "out", params(refs, ["mri_gamma"], [2]))


def test_skip__all_bad_raises(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "text.nii").write_text("not a volume")
    with pytest.raises(NiftiReadError, match="no usable volume"):
        run(tmp_path / "out", params({"kind": "folder", "path": str(folder), "on_error": "skip"}))


def test_csv_references__paths_relative_to_csv_and_4d_split(tmp_path: Path, demo_paths: dict[str, Path]) -> None:
    data = np.asarray(nib.load(demo_paths["nibabel_anatomical"]).dataobj, dtype=np.float32)
    (tmp_path / "sub").mkdir()
    nib.save(
        nib.Nifti1Image(np.stack([data, data * 2], axis=-1), np.diag([2.0, 2.0, 2.0, 1.0])),
        tmp_path / "sub" / "fmri.nii.gz",
    )
    csv = tmp_path / "list.csv"
    pd.DataFrame({"path": ["sub/fmri.nii.gz"]}).to_csv(csv, index=False)
    p = params({"kind": "csv", "path": str(csv)}, ["mri_gamma"], [1])
    p["preprocess"] = {**SMALL, "four_d": "split"}
    manifest, _, _ = run(tmp_path / "out", p)
    assert sorted(manifest["ref_id"].unique()) == ["fmri_t0", "fmri_t1"]
    assert "volumes/refs/fmri_t1.nii.gz" in set(manifest["ref_path"])


def test_sources__config_errors_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown demo volume"):
        collect_volume_sources({"kind": "demo", "names": ["nope"]})
    csv = tmp_path / "x.csv"
    csv.write_text("file\na.nii\n")
    with pytest.raises(ValueError, match=rf"{csv}: no 'path' column"):
        collect_volume_sources({"kind": "csv", "path": str(csv)})
    with pytest.raises(ValueError, match="kind must be"):
        collect_volume_sources({"kind": "zip"})
    with pytest.raises(ValueError, match=r"volumes\.distort\.artefacts: unknown"):
        VolumeBankSpec(artefacts=("gaussian_blur",))
    with pytest.raises(ValueError, match=r"volumes\.preprocess"):
        volume_bank_spec({"preprocess": {"four_d": "keep"}})
    assert volume_bank_spec({}).artefacts == tuple(MEDICAL_DISTORTIONS)
