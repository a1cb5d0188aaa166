"""Routing datasets to the 3D path, volume tables and reading volumes."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from perceptflow.data.datasets import DatasetError
from perceptflow.data.volumes.datasets import (
    is_volume_dataset,
    load_volume_dataset,
    preprocess_config,
    read_volume_array,
)
from perceptflow.data.volumes.nifti import NiftiReadError


def _csv(path: Path, rows: list[str]) -> str:
    path.write_text("dist,ref,mos\n" + "\n".join(rows) + "\n")
    return str(path)


def _volume(path: Path, data: np.ndarray) -> None:
    nib.save(nib.Nifti1Image(data.astype(np.float32), np.diag([2.0, 2.0, 2.0, 1.0])), path)


def test_routing_by_kind_and_file_type(tmp_path: Path) -> None:
    volumes = _csv(tmp_path / "vols.csv", ["a.nii.gz,r.nii.gz,3.0"])
    images = _csv(tmp_path / "imgs.csv", ["a.png,r.png,3.0"])
    assert is_volume_dataset({"kind": "synthetic_volumes"})
    assert is_volume_dataset({"kind": "csv", "path": volumes})
    assert not is_volume_dataset({"kind": "csv", "path": images})
    assert not is_volume_dataset({"kind": "synthetic"})
    assert not is_volume_dataset({"kind": "csv", "path": str(tmp_path / "missing.csv")})


def test_csv_volume_table_and_preprocessing(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for name in ("a.nii.gz", "b.nii.gz", "r.nii.gz"):
        _volume(tmp_path / name, rng.random((20, 18, 16)) + 0.1)
    spec = {"kind": "csv", "path": _csv(tmp_path / "v.csv", ["a.nii.gz,r.nii.gz,3.0", "b.nii.gz,r.nii.gz,1.5"])}
    spec.update(score_column="mos", higher_is_better=True)
    table = load_volume_dataset("rated", spec)
    assert list(table.frame["target"]) == [3.0, 1.5] and table.n_refs == 1
    config = preprocess_config("rated", spec, {"spacing": 4.0, "shape": 8})
    assert config is not None and config.shape == (8, 8, 8) and config.four_d == "refuse"
    data = read_volume_array(table.frame["path"][0], config)
    assert data.shape == (8, 8, 8) and data.dtype == np.float32 and data.min() >= 0.0 and data.max() <= 1.0
    assert preprocess_config("bank", {"kind": "synthetic_volumes"}, {"spacing": 4.0}) is None
    raw = read_volume_array(tmp_path / "a.nii.gz")
    assert raw.shape == (20, 18, 16)


def test_errors_name_the_dataset_or_file(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"")
    spec = {"kind": "csv", "path": _csv(tmp_path / "i.csv", ["a.png,a.png,1.0"]), "score_column": "mos"}
    with pytest.raises(DatasetError, match=r"datasets.x.higher_is_better"):
        load_volume_dataset("x", spec)
    with pytest.raises(DatasetError, match=r"datasets.x: 2 file\(s\) are not .nii"):
        load_volume_dataset("x", {**spec, "higher_is_better": True})
    (tmp_path / "a.nii.gz").write_bytes(b"")
    no_ref = tmp_path / "n.csv"
    no_ref.write_text("dist,mos\na.nii.gz,1.0\n")
    with pytest.raises(DatasetError, match=r"datasets.x: rated volumes need a 'ref' column"):
        load_volume_dataset("x", {**spec, "path": str(no_ref), "higher_is_better": True})
    with pytest.raises(DatasetError, match=r"manifest"):
        load_volume_dataset("bank", {"kind": "synthetic_volumes"})
    with pytest.raises(DatasetError, match=r"kind"):
        load_volume_dataset("x", {"kind": "synthetic"})
    with pytest.raises(DatasetError, match=r"volumes.preprocess"):
        preprocess_config("x", {"kind": "csv"}, {"spacing": -1.0})
    (tmp_path / "bad.nii.gz").write_bytes(b"not a volume")
    with pytest.raises(NiftiReadError, match=r"bad.nii.gz"):
        read_volume_array(tmp_path / "bad.nii.gz")
    _volume(tmp_path / "nan.nii.gz", np.full((4, 4, 4), np.nan))
    with pytest.raises(NiftiReadError, match=r"nan.nii.gz: 64 NaN/Inf"):
        read_volume_array(tmp_path / "nan.nii.gz")
