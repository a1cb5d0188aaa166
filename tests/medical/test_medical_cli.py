"""``perceptflow distortions list --domain medical`` and the three-slice gallery of a volume."""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from perceptflow.cli.distortions import add_distortions_parser
from perceptflow.data.images import ImageReadError
from perceptflow.distortions.medical.gallery import orthogonal_slices


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="perceptflow")
    add_distortions_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["distortions", *argv])
    return args.func(args)


def test_list__medical_domain_has_the_ten_artefacts(capsys: pytest.CaptureFixture) -> None:
    assert run(["list", "--json", "--domain", "medical"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in records] == list(range(201, 211))
    assert {r["domain"] for r in records} == {"medical"} and all("kadis_levels" not in r for r in records)
    assert run(["list", "--domain", "medical"]) == 0
    table = capsys.readouterr().out
    assert "mri_rician_noise" in table and "mri_motion" in table and "jpeg" not in table


def test_gallery__medical_writes_one_png(demo_paths: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "g" / "medical.png"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = run(["gallery", "--domain", "medical", str(demo_paths["nibabel_anatomical"]), "-o", str(out)])
    assert code == 0
    with Image.open(out) as image:
        width, height = image.size
    assert width > 1000 and height > 800  # 6 columns x 10 rows


def test_gallery__2d_type_domain_still_needs_a_picture(tmp_path: Path, demo_paths: dict[str, Path]) -> None:
    with pytest.raises(ImageReadError, match=r"cannot read .*anatomical\.nii as an image"):
        run(["gallery", str(demo_paths["nibabel_anatomical"]), "-o", str(tmp_path / "x.png")])


def test_orthogonal_slices__are_centred_and_side_by_side() -> None:
    volume = np.zeros((10, 12, 14), np.float32)
    volume[5, 6, 7] = 1.0
    mosaic = orthogonal_slices(volume, gap=2)
    assert mosaic.shape == (14, 12 + 2 + 10 + 2 + 10)
    assert mosaic.sum() == 3.0  # the centre voxel appears once in each view
