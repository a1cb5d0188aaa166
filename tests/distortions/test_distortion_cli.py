"""``perceptflow distortions list | apply | gallery`` through a parser built here (not the main entry point)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from perceptflow.cli.distortions import add_distortions_parser
from perceptflow.distortions import apply_distortion, distortion_rng


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="perceptflow")
    add_distortions_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["distortions", *argv])
    return args.func(args)


@pytest.fixture
def image_file(tmp_path: Path, photo: np.ndarray) -> Path:
    path = tmp_path / "cat.png"
    Image.fromarray(photo[:64, :80]).save(path)
    return path


def test_list_json__has_every_entry_with_kadis_only_where_different(capsys: pytest.CaptureFixture) -> None:
    assert run(["list", "--json"]) == 0
    records = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert len(records) == 31
    blur = records["gaussian_blur"]
    assert (blur["id"], blur["domain"], blur["group"]) == (1, "natural", "blur")
    assert blur["levels"] == [0.5, 1.0, 1.5, 2.5, 5.0] and blur["kadis_levels"] == [0.1, 0.5, 1, 2, 5]
    assert "kadis_levels" not in records["jpeg"] and "kadis_levels" not in records["rotate"]


def test_list__filters_by_domain_and_prints_a_table(capsys: pytest.CaptureFixture) -> None:
    assert run(["list", "--json", "--domain", "dps"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == list(range(101, 107))
    assert run(["list"]) == 0
    table = capsys.readouterr().out
    assert "contrast_change" in table and "kadis: 0.3, 0.15, 0, -0.4, -0.6" in table


def test_apply__one_type_one_level_writes_the_seeded_result(image_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    argv = ["apply", str(image_file), "--type", "white_noise", "--level", "3", "--seed", "4", "-o", str(out)]
    assert run(argv) == 0
    source = np.asarray(Image.open(image_file))
    expected = apply_distortion(source, "white_noise", 3, distortion_rng(4, "cat", "white_noise", 3))
    assert np.array_equal(np.asarray(Image.open(out)), expected)


def test_apply__all_levels_write_type_level_files(image_file: Path, tmp_path: Path) -> None:
    folder = tmp_path / "levels"
    argv = ["apply", str(image_file), "--type", "jpeg", "--level", "all", "--scheme", "kadis", "-o", str(folder)]
    assert run(argv) == 0
    assert sorted(p.name for p in folder.iterdir()) == [f"jpeg_{level}.png" for level in range(1, 6)]


def test_apply__all_types_all_levels_write_the_whole_bank(image_file: Path, tmp_path: Path) -> None:
    folder = tmp_path / "bank"
    assert run(["apply", str(image_file), "--type", "all", "--level", "all", "-o", str(folder)]) == 0
    names = {p.name for p in folder.iterdir()}
    assert len(names) == 125 and {"gaussian_blur_1.png", "contrast_change_5.png"} <= names


def test_apply__bad_type_or_level_names_the_valid_choices(image_file: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:  # fmt: skip
    with pytest.raises(KeyError, match=r"did you mean jpeg.*valid: gaussian_blur"):
        run(["apply", str(image_file), "--type", "jpg", "--level", "1", "-o", str(tmp_path / "x.png")])
    with pytest.raises(SystemExit):
        run(["apply", str(image_file), "--type", "jpeg", "--level", "6", "-o", str(tmp_path / "x.png")])
    assert "choose from '1', '2', '3', '4', '5', 'all'" in capsys.readouterr().err


def test_gallery__writes_a_labelled_grid_png(image_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "grid.png"
    assert run(["gallery", str(image_file), "-o", str(out), "--size", "48"]) == 0
    with Image.open(out) as grid:
        width, height = grid.size
    assert height > 10 * width / 3  # 25 rows, 5 columns


def test_gallery__rejects_a_tiny_size(image_file: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--size must be >= 48"):
        run(["gallery", str(image_file), "-o", str(tmp_path / "g.png"), "--size", "16"])
