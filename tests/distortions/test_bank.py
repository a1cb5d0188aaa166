"""The distort stage's bank: manifest, determinism across workers, bad input, composite chains, the gallery."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from perceptflow.data.images import ImageReadError, load_rgb
from perceptflow.distortions import class_label, get_distortion, level_value
from perceptflow.distortions.bank import (
    COMPOSITE,
    MANIFEST_COLUMNS,
    BankSpec,
    CompositeSpec,
    bank_spec,
    collect_references,
    composite_key,
    generate_bank,
    label_component,
)
from perceptflow.distortions.compose import apply_chain
from perceptflow.distortions.stage import distort_gallery, distort_references

REFS = {"kind": "demo", "names": ["astronaut", "camera"]}
TINY = BankSpec(types=("jpeg", "white_noise"), levels=(1, 3), seed=0, crop=48, resize=48)
COMPOSITES = BankSpec(
    types=("jpeg",), levels=(2,), seed=3, crop=48, resize=48, composite=CompositeSpec(True, 3, per_reference=3)
)


def _bank(tmp_path: Path, spec: BankSpec, threads: int = 1, name: str = "bank") -> pd.DataFrame:
    return generate_bank(collect_references(REFS), spec, out_dir=tmp_path / name / "images", threads=threads)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.png"))}


def test_manifest__one_row_per_image_with_labels_values_and_paths(tmp_path: Path) -> None:
    manifest = _bank(tmp_path, TINY)
    assert list(manifest.columns) == list(MANIFEST_COLUMNS)
    assert len(manifest) == 2 * (1 + 2 * 2) and manifest["image_id"].is_unique
    pristine = manifest[manifest["dist_type"] == "pristine"]
    assert sorted(pristine["ref_id"]) == ["astronaut", "camera"]
    assert (pristine["class_label"] == 0).all() and (pristine["level"] == 0).all() and (pristine["chain"] == "[]").all()
    distorted = manifest[manifest["dist_type"] != "pristine"]
    assert set(zip(distorted["dist_type"], distorted["level"], strict=True)) == {
        (t, lv) for t in TINY.types for lv in (1, 3)
    }
    for row in distorted.itertuples():
        assert row.class_label == class_label(row.dist_type, row.level)
        assert row.dist_id == get_distortion(row.dist_type).id
        assert row.param_value == level_value(row.dist_type, row.level, "severity")
        assert json.loads(row.chain) == [[row.dist_type, row.level]]
    assert (manifest["seed"] == 0).all() and (manifest["scheme"] == "severity").all()
    for rel in [*manifest["path"], *manifest["ref_path"]]:
        assert load_rgb(tmp_path / "bank" / rel).shape == (48, 48, 3)
    assert list(manifest["ref_id"]) == sorted(manifest["ref_id"])  # grouped by reference


def test_run_distort__writes_the_manifest_csv(tmp_path: Path) -> None:
    params = {"types": ["jpeg"], "levels": [2], "seed": 0, "crop": 32, "resize": 32, "references": REFS}
    manifest = distort_references(params, out_dir=tmp_path / "images", manifest_path=tmp_path / "manifest.csv")
    assert pd.read_csv(tmp_path / "manifest.csv")["image_id"].tolist() == manifest["image_id"].tolist()


def test_bank__is_byte_identical_for_one_and_two_threads(tmp_path: Path) -> None:
    one = _bank(tmp_path, COMPOSITES, threads=1, name="one")
    two = _bank(tmp_path, COMPOSITES, threads=2, name="two")
    pd.testing.assert_frame_equal(one, two)
    files_one, files_two = _files(tmp_path / "one"), _files(tmp_path / "two")
    assert len(files_one) == len(one) and files_one == files_two


def test_bank__reference_smaller_than_the_crop_names_file_and_size(tmp_path: Path) -> None:
    folder = tmp_path / "refs"
    folder.mkdir()
    Image.fromarray(np.zeros((20, 30, 3), dtype=np.uint8)).save(folder / "tiny.png")
    spec = BankSpec(types=("jpeg",), crop=48, resize=None)
    with pytest.raises(ImageReadError, match=r"tiny\.png.*30x20.*48x48"):
        generate_bank(collect_references({"kind": "folder", "path": str(folder)}), spec, out_dir=tmp_path / "out")


def test_bank_spec__unknown_type_or_level_names_the_key_and_valid_choices() -> None:
    with pytest.raises(ValueError, match=r"distort\.types.*'jpg'.*did you mean.*jpeg.*valid: gaussian_blur"):
        BankSpec(types=("jpg",))
    with pytest.raises(ValueError, match=r"distort\.types.*'rotate'.*distort\.dps"):
        BankSpec(types=("rotate",))
    with pytest.raises(ValueError, match=r"distort\.levels.*\[6\]"):
        BankSpec(types=("jpeg",), levels=(1, 6))
    with pytest.raises(ValueError, match=r"distort\.composite\.max_chain.*1\.\.7"):
        CompositeSpec(True, max_chain=8)


def test_composite__off_by_default() -> None:
    assert not BankSpec(types=("jpeg",)).composite.enabled
    spec = bank_spec({"types": ["jpeg"], "crop": 32, "references": REFS})
    assert not spec.composite.enabled
    config = Path(__file__).resolve().parents[2] / "config.yaml"
    assert "enabled: false" in config.read_text().split("composite:", 1)[1].split("\n", 2)[1]


def test_composite__manifest_records_the_chain_and_it_replays(tmp_path: Path) -> None:
    manifest = _bank(tmp_path, COMPOSITES)
    composites = manifest[manifest["dist_type"] == COMPOSITE]
    assert len(composites) == 2 * 3
    assert list(composites["image_id"][:3]) == [f"astronaut__composite__{i}" for i in (1, 2, 3)]
    crops = {r: load_rgb(tmp_path / "bank" / p) for r, p in zip(manifest["ref_id"], manifest["ref_path"], strict=True)}
    for row in composites.itertuples():
        chain = [tuple(step) for step in json.loads(row.chain)]
        assert 1 <= len(chain) <= 3
        groups = [get_distortion(name).group for name, _ in chain]
        assert len(set(groups)) == len(groups)
        name, level = label_component(chain)
        assert level == max(lv for _, lv in chain)
        assert (row.level, row.class_label, row.dist_id) == (level, class_label(name, level), get_distortion(name).id)
        assert 1 <= row.class_label <= 125  # a valid CONTRIQUE class
        index = int(row.image_id.rsplit("__", 1)[1])
        replay = apply_chain(crops[row.ref_id], chain, seed=3, ref_id=composite_key(row.ref_id, index))
        np.testing.assert_array_equal(load_rgb(tmp_path / "bank" / row.path), replay)
    assert len(set(composites["chain"])) > 1


def test_label_component__highest_level_first_on_ties() -> None:
    assert label_component([("jpeg", 2), ("white_noise", 4), ("darken", 4)]) == ("white_noise", 4)


def test_run_gallery__draws_the_configured_types_and_checks_the_reference(tmp_path: Path) -> None:
    params = {"types": ["jpeg", "white_noise"], "crop": 48, "resize": 48, "references": REFS,
              "gallery": {"reference": "camera", "size": 48}}  # fmt: skip
    out = distort_gallery(params, out=tmp_path / "gallery.png")
    width, height = Image.open(out).size
    assert out.is_file() and height > 100 and width > height
    with pytest.raises(ValueError, match=r"distort\.gallery\.reference 'moon'.*astronaut, camera"):
        distort_gallery({**params, "gallery": {"reference": "moon"}}, out=tmp_path / "other.png")
