"""Bad inputs are refused before compute with a message naming the key, or the file and line; inputs untouched."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from perceptflow.config_checks import (
    ConfigCheckError,
    check_config,
    check_rated_csv,
    check_split_count,
    load_yaml_strict,
    preflight,
)
from perceptflow.data.images import ImageReadError, load_rgb


def _png(path: Path, size: tuple[int, int] = (64, 64), seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


def _checksums(folder: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def _config(**sections: dict) -> dict:
    base = {
        "distort": {"crop": 32, "references": {"kind": "demo", "names": ["astronaut", "camera", "chelsea"]}},
        "train": {"crop_size": 32},
        "regress": {"n_splits": 3, "fractions": [0.4, 0.3, 0.3]},
        "datasets": {"synthetic": {"kind": "synthetic"}},
    }
    for name, values in sections.items():
        base[name] = {**base[name], **values}
    return base


def test_duplicate_yaml_keys_are_refused_naming_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("train:\n  epochs: 4\n  lr: 0.1\n  epochs: 10\n")
    with pytest.raises(ConfigCheckError, match=r"config\.yaml:4: duplicate key 'epochs' \(first on line 2\)"):
        load_yaml_strict(path)
    (tmp_path / "ok.yaml").write_text("a: {b: 1}\nc: [1, 2]\n")
    assert load_yaml_strict(tmp_path / "ok.yaml") == {"a": {"b": 1}, "c": [1, 2]}


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"regress": {"fractions": [0.7, 0.2, 0.2]}}, r"regress\.fractions must sum to 1, got \[0\.7, 0\.2, 0\.2\]"),
        ({"train": {"crop_size": 48}}, r"train\.crop_size = 48 is larger than distort\.crop = 32"),
        (
            {"train": {"crop_size": 32, "overrides": {"simclr": {"crop_size": 64}}}},
            r"train\.overrides\.simclr\.crop_size = 64",
        ),
    ],
)
def test_cross_key_rules_name_the_key(sections: dict, message: str) -> None:
    with pytest.raises(ConfigCheckError, match=message):
        check_config(_config(**sections))


def test_good_config_passes() -> None:
    check_config(_config())


def test_reference_folder__small_reference_bomb_loop_and_skipped_files(tmp_path: Path) -> None:
    refs = tmp_path / "refs"
    refs.mkdir()
    for index in range(3):
        _png(refs / f"r{index}.png", seed=index)
    (refs / "anim.gif").write_bytes(b"GIF89a")
    (refs / "notes.txt").write_text("x")
    config = _config(distort={"crop": 32, "references": {"kind": "folder", "path": str(refs)}})
    before = _checksums(refs)
    preflight(config, tmp_path / "results")
    skipped = (tmp_path / "results" / "distort" / "skipped.csv").read_text().splitlines()
    assert skipped[0] == "path,reason" and len(skipped) == 3
    assert any("anim.gif" in row and "unsupported file type '.gif'" in row for row in skipped)

    _png(refs / "tiny.png", size=(10, 10))
    with pytest.raises(ConfigCheckError, match=r"tiny\.png is 10x10, smaller than distort\.crop = 32"):
        preflight(config, tmp_path / "results")
    (refs / "tiny.png").unlink()

    _png(refs / "huge.png", size=(40, 40))
    limit = Image.MAX_IMAGE_PIXELS
    try:
        Image.MAX_IMAGE_PIXELS = 100  # 1600 pixels > 2 x limit: PIL's bomb error, on the header alone
        with pytest.raises(ConfigCheckError, match=r"huge\.png is too large to decode safely"):
            preflight(config, tmp_path / "results")
        with pytest.raises(ImageReadError, match=r"huge\.png is too large to decode safely"):
            load_rgb(refs / "huge.png")
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    (refs / "huge.png").unlink()

    os.symlink(refs / "loop.png", refs / "loop.png")
    with pytest.raises(ConfigCheckError, match=r"loop\.png is a symlink loop"):
        check_config(config)
    (refs / "loop.png").unlink()
    assert _checksums(refs) == {k: v for k, v in before.items()}, "inputs unchanged"


def _rated(tmp_path: Path, rows: list[str]) -> dict:
    _png(tmp_path / "ref.png", (32, 32))
    _png(tmp_path / "d1.png", (32, 32), seed=1)
    _png(tmp_path / "d2.png", (40, 32), seed=2)
    (tmp_path / "rated.csv").write_text("\n".join(["dist,ref,mos", *rows]) + "\n")
    return {"kind": "csv", "path": str(tmp_path / "rated.csv"), "score_column": "mos"}


def test_rated_csv__size_mismatch_and_empty_ref_name_the_line(tmp_path: Path) -> None:
    spec = _rated(tmp_path, ["d1.png,ref.png,1.0", "d2.png,ref.png,2.0"])
    before = _checksums(tmp_path)
    with pytest.raises(
        ConfigCheckError, match=r"rated\.csv line 3: d2\.png is 40x32 but its reference ref\.png is 32x32"
    ):
        check_rated_csv("live", spec)
    spec = _rated(tmp_path, ["d1.png,ref.png,1.0", "d1.png,,2.0"])
    with pytest.raises(ConfigCheckError, match=r"datasets\.live\.path: .*rated\.csv line 3: empty 'ref' cell"):
        check_rated_csv("live", spec)
    spec = _rated(tmp_path, ["d1.png,ref.png,1.0", "missing.png,ref.png,2.0"])
    with pytest.raises(ConfigCheckError, match=r"line 3: image file not found: .*missing\.png"):
        check_rated_csv("live", spec)
    assert check_rated_csv("live", _rated(tmp_path, ["d1.png,ref.png,1.0"])) == 1
    assert _checksums(tmp_path).keys() >= before.keys()


def test_more_splits_than_distinct_ones_is_an_error_with_the_real_count() -> None:
    config = _config(regress={"n_splits": 10, "fractions": [0.4, 0.3, 0.3]})
    with pytest.raises(ConfigCheckError, match=r"regress\.n_splits = 10, but dataset 'x' has 3 references: only 6"):
        check_split_count(config, "x", 3)
    check_split_count(_config(regress={"n_splits": 6}), "x", 3)


def test_references_as_a_glob_or_a_list_of_folders__every_folder_checked_and_listed(tmp_path: Path) -> None:
    for name in ("train", "val", "test"):
        (tmp_path / name).mkdir()
        for index in range(2):
            _png(tmp_path / name / f"{name}{index}.png", seed=index)
    (tmp_path / "val" / "notes.txt").write_text("x")
    for path in (str(tmp_path / "[tv][ra]*"), [str(tmp_path / "train"), str(tmp_path / "val")]):
        config = _config(distort={"crop": 32, "references": {"kind": "folder", "path": path}})
        check_config(config)
        preflight(config, tmp_path / "results")
        skipped = (tmp_path / "results" / "distort" / "skipped.csv").read_text().splitlines()
        assert len(skipped) == 2 and "notes.txt" in skipped[1], skipped
    _png(tmp_path / "val" / "tiny.png", size=(10, 10))
    config = _config(distort={"crop": 32, "references": {"kind": "folder", "path": str(tmp_path / "[tv][ra]*")}})
    with pytest.raises(ConfigCheckError, match=r"val/tiny\.png is 10x10"):
        preflight(config, tmp_path / "results")
    missing = [str(tmp_path / "train"), str(tmp_path / "nope")]
    with pytest.raises(ConfigCheckError, match=r"distort\.references\.path: folder not found: .*nope"):
        preflight(_config(distort={"crop": 32, "references": {"kind": "folder", "path": missing}}), tmp_path / "r")
