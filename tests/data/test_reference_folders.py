"""Folder references from one folder, a glob of folders, or a list (distort.references.path)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from perceptflow.data.images import ImageReadError, reference_folders
from perceptflow.distortions.bank import collect_references
from perceptflow.wiring import reference_files


@pytest.fixture()
def bsds(tmp_path: Path) -> Path:
    for split, names in {"train": ["2092", "8049"], "val": ["3096"], "test": ["100007"]}.items():
        (tmp_path / split).mkdir()
        for name in names:
            Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / split / f"{name}.jpg")
    return tmp_path


def test_a_list_and_a_glob_take_train_and_val_never_test(bsds: Path) -> None:
    listed = collect_references({"kind": "folder", "path": [str(bsds / "train"), str(bsds / "val")]})
    globbed = collect_references({"kind": "folder", "path": str(bsds / "[tv][ra]*")})
    assert sorted(listed) == sorted(globbed) == ["2092", "3096", "8049"]
    assert reference_files({"kind": "folder", "path": str(bsds / "[tv][ra]*")}) == [str(p) for p in globbed.values()]


def test_one_folder_still_works_and_order_follows_the_list(bsds: Path) -> None:
    assert reference_folders(str(bsds / "val")) == [bsds / "val"]
    assert reference_folders([str(bsds / "val"), str(bsds / "train")]) == [bsds / "val", bsds / "train"]


def test_missing_folder_and_duplicate_names_are_named(bsds: Path) -> None:
    with pytest.raises(ImageReadError, match=r"folder not found: .*nowhere"):
        collect_references({"kind": "folder", "path": [str(bsds / "train"), str(bsds / "nowhere")]})
    with pytest.raises(ImageReadError, match=r"share the name\(s\) \['2092'"):
        collect_references({"kind": "folder", "path": [str(bsds / "train"), str(bsds / "train")]})
