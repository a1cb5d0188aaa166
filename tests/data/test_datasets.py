"""Dataset tables from the synthetic manifest and from user CSVs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from perceptflow.data import DatasetError, load_csv_dataset, load_dataset, read_table, save_table


@pytest.fixture()
def rated(tmp_path: Path) -> Path:
    for name in ("a.png", "b.png", "r.png"):
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / name)
    csv = tmp_path / "scores.csv"
    pd.DataFrame({"dist": ["a.png", "b.png"], "ref": ["r.png", "r.png"], "mos": [3.5, 1.0]}).to_csv(csv, index=False)
    return csv


def test_csv_dataset_resolves_paths_relative_to_the_csv(rated: Path) -> None:
    table = load_csv_dataset(rated, score_column="mos", higher_is_better=True)
    assert list(table.frame["target"]) == [3.5, 1.0]
    assert table.frame["path"][0] == str(rated.parent / "a.png")
    assert table.has_references and table.n_refs == 1
    assert table.name == "scores"


def test_csv_without_ref_makes_each_image_its_own_group(rated: Path) -> None:
    frame = pd.read_csv(rated).drop(columns="ref")
    frame.to_csv(rated, index=False)
    table = load_csv_dataset(rated, score_column="mos", higher_is_better=True)
    assert not table.has_references and table.n_refs == 2


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda f: f.drop(columns="mos"), r"missing column\(s\) \['mos'\]"),
        (lambda f: f.assign(mos=["x", 1.0]), r"'mos' is not a finite number on line\(s\) 2"),
        (lambda f: f.assign(dist=["a.png", "gone.png"]), "do not exist: .*gone.png"),
        (lambda f: f.assign(dist=["a.png", "a.png"]), "duplicate 'dist'"),
    ],
)
def test_csv_errors_name_file_and_problem(rated: Path, edit, message: str) -> None:
    edit(pd.read_csv(rated)).to_csv(rated, index=False)
    with pytest.raises(DatasetError, match=message) as error:
        load_csv_dataset(rated, score_column="mos", higher_is_better=True)
    assert str(rated) in str(error.value)


def test_config_errors_name_the_key(rated: Path) -> None:
    with pytest.raises(DatasetError, match=r"datasets.mine.score_column is required"):
        load_dataset("mine", {"kind": "csv", "path": str(rated), "higher_is_better": True})
    with pytest.raises(DatasetError, match=r"datasets.mine.kind must be"):
        load_dataset("mine", {"kind": "folder"})


def test_table_roundtrip_keeps_direction_and_missing_refs(rated: Path, tmp_path: Path) -> None:
    table = load_csv_dataset(rated, score_column="mos", higher_is_better=False, name="mine")
    save_table(table, tmp_path / "t.csv")
    back = read_table(tmp_path / "t.csv")
    assert back.name == "mine" and back.higher_is_better is False and back.target_name == "mos"
    pd.testing.assert_frame_equal(back.frame, table.frame, check_dtype=False)
