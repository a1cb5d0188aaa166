"""Rated dataset kinds read from tiny fixtures in each official download layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.io
from PIL import Image

from perceptflow.data import load_dataset
from perceptflow.data.rated import LayoutError, load_bapps, score_files
from perceptflow.data.rated.live2 import TYPE_FOLDERS


def image(path: Path, value: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), value, np.uint8)).save(path, format="PNG" if path.suffix == ".png" else "BMP")


def live2(root: Path) -> Path:
    """982 entries as in Release 2; all but three are references (orgs == 1), so three images are needed."""
    n = sum(count for _, count in TYPE_FOLDERS)
    orgs, dmos = np.ones(n), np.zeros(n)
    kept = {0: 30.0, 227: 55.0, 228: 12.0}  # jp2k/img1, jpeg/img1, jpeg/img2
    names = np.empty((1, n), dtype=object)
    names[0, :] = "parrots.bmp"
    names[0, 228] = "caps.bmp"
    for index, value in kept.items():
        orgs[index], dmos[index] = 0, value
    scipy.io.savemat(root / "dmos.mat", {"dmos": dmos[None], "orgs": orgs[None]})
    scipy.io.savemat(root / "refnames_all.mat", {"refnames_all": names})
    for name in ("jp2k/img1.bmp", "jpeg/img1.bmp", "jpeg/img2.bmp", "refimgs/parrots.bmp", "refimgs/caps.bmp"):
        image(root / name)
    for folder, _ in TYPE_FOLDERS:
        (root / folder).mkdir(exist_ok=True)
    return root


def csiq(root: Path) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "all_by_image"
    sheet.append(["image", "dst_idx", "dst_type", "dst_lev", "dmos_std", "dmos"])
    sheet.append([1600, 1, "noise", 1, 0.06, 0.062])
    sheet.append(["boston", 5, "blur", 2, 0.1, 0.4])
    book.create_sheet("readme")
    book.save(root / "csiq.DMOS.xlsx")
    for name in (
        "src_imgs/1600.png",
        "src_imgs/boston.png",
        "dst_imgs/awgn/1600.AWGN.1.png",
        "dst_imgs/blur/boston.BLUR.2.png",
    ):
        image(root / name)
    for folder in ("jpeg", "jpeg2000", "fnoise", "contrast"):
        (root / "dst_imgs" / folder).mkdir(parents=True)
    return root


def tid2013(root: Path) -> Path:
    (root / "mos_with_names.txt").write_text("5.51429 i01_01_1.bmp\n3.2 i01_08_4.bmp\n4.0 I25_02_1.bmp\n")
    for name in ("i01_01_1.bmp", "i01_08_4.bmp", "i25_02_1.bmp"):
        image(root / "distorted_images" / name)
    for name in ("I01.BMP", "I25.BMP"):
        image(root / "reference_images" / name)
    return root


def kadid(root: Path) -> Path:
    pd.DataFrame(
        {
            "dist_img": ["I01_01_01.png", "I01_25_05.png", "I02_03_02.png"],
            "ref_img": ["I01.png", "I01.png", "I02.png"],
            "dmos": [4.57, 1.2, 3.0],
            "var": [0.5, 0.4, 0.3],
        }
    ).to_csv(root / "dmos.csv", index=False)
    for name in ("I01.png", "I02.png", "I01_01_01.png", "I01_25_05.png", "I02_03_02.png"):
        image(root / "images" / name)
    return root


def koniq(root: Path) -> Path:
    pd.DataFrame(
        {"image_name": ["10004473376.jpg", "10007357496.jpg"], "c1": [0, 1], "MOS": [3.8, 2.1], "SD": [0.6, 0.7]}
    ).to_csv(root / "koniq10k_scores_and_distributions.csv", index=False)
    for name in ("10004473376.jpg", "10007357496.jpg"):
        (root / "1024x768").mkdir(exist_ok=True)
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / "1024x768" / name)
    return root


def pipal(root: Path) -> Path:
    (root / "Train_Label").mkdir()
    (root / "Train_Label" / "A0001.txt").write_text("A0001_00_00.bmp,1448.2\nA0001_10_03.bmp,1300.5\n")
    (root / "Train_Label" / "A0002.txt").write_text("A0002_01_01.bmp,1500.0\n")
    for name in ("A0001_00_00.bmp", "A0001_10_03.bmp", "A0002_01_01.bmp"):
        image(root / "Train_Dis" / name)
    for name in ("A0001.bmp", "A0002.bmp"):
        image(root / "Train_Ref" / name)
    return root


FIXTURES = {"live2": live2, "csiq": csiq, "tid2013": tid2013, "kadid10k": kadid, "koniq10k": koniq, "pipal": pipal}
#: kind -> (target of the first row, higher is better, number of content groups, a dist type present).
EXPECTED = {
    "live2": (30.0, False, 2, "jpeg"),
    "csiq": (0.062, False, 2, "blur"),
    "tid2013": (5.51429, True, 2, "type_08"),
    "kadid10k": (4.57, True, 2, "type_25"),
    "koniq10k": (3.8, True, 2, "authentic"),
    "pipal": (1448.2, True, 2, "type_10"),
}


@pytest.mark.parametrize("kind", sorted(FIXTURES))
def test_kind_reads_its_official_layout(tmp_path: Path, kind: str) -> None:
    root = FIXTURES[kind](tmp_path)
    table = load_dataset("mine", {"kind": kind, "path": str(root)})
    first, higher, groups, dist_type = EXPECTED[kind]
    frame = table.frame
    assert table.name == "mine" and table.higher_is_better is higher
    assert frame["target"].iloc[0] == pytest.approx(first)
    assert table.n_refs == groups and dist_type in set(frame["dist_type"])
    assert all(Path(p).is_file() for p in frame["path"])
    assert table.has_references is (kind != "koniq10k")
    assert score_files(kind, root), "the workflow watches at least one score file"


def test_live2_drops_references_and_pairs_each_image_with_its_reference(tmp_path: Path) -> None:
    frame = load_dataset("live", {"kind": "live2", "path": str(live2(tmp_path))}).frame
    assert list(frame["image_id"]) == ["jp2k/img1.bmp", "jpeg/img1.bmp", "jpeg/img2.bmp"]
    assert list(frame["ref_id"]) == ["parrots", "parrots", "caps"]
    assert frame["ref_path"].iloc[2].endswith("refimgs/caps.bmp")


def test_tid2013_matches_names_whatever_their_case(tmp_path: Path) -> None:
    frame = load_dataset("tid", {"kind": "tid2013", "path": str(tid2013(tmp_path))}).frame
    assert list(frame["ref_id"]) == ["i01", "i01", "i25"]
    assert frame["ref_path"].iloc[2].endswith("I25.BMP")


def test_koniq_has_no_references_and_one_group_per_image(tmp_path: Path) -> None:
    table = load_dataset("k", {"kind": "koniq10k", "path": str(koniq(tmp_path))})
    assert table.frame["ref_path"].isna().all() and table.n_refs == len(table.frame)


@pytest.mark.parametrize(
    ("kind", "remove", "named"),
    [
        ("live2", "refnames_all.mat", "refnames_all.mat"),
        ("live2", "jpeg/img2.bmp", "img2.bmp"),
        ("csiq", "dst_imgs/blur/boston.BLUR.2.png", "boston.BLUR.2.png"),
        ("tid2013", "mos_with_names.txt", "mos_with_names.txt"),
        ("kadid10k", "images/I02.png", "I02.png"),
        ("koniq10k", "1024x768", "1024x768"),
        ("pipal", "Train_Ref/A0002.bmp", "A0002.bmp"),
    ],
)
def test_a_wrong_layout_names_the_missing_file(tmp_path: Path, kind: str, remove: str, named: str) -> None:
    root = FIXTURES[kind](tmp_path)
    target = root / remove
    if target.is_dir():
        for child in target.iterdir():
            child.unlink()
        target.rmdir()
    else:
        target.unlink()
    with pytest.raises(LayoutError, match=named):
        load_dataset("x", {"kind": kind, "path": str(root)})


def test_a_missing_folder_and_a_missing_path_key_are_named(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="dataset folder not found"):
        load_dataset("x", {"kind": "kadid10k", "path": str(tmp_path / "nowhere")})
    with pytest.raises(Exception, match=r"datasets.x.path is required"):
        load_dataset("x", {"kind": "kadid10k"})


def test_full_set_counts_are_checked(tmp_path: Path) -> None:
    root = kadid(tmp_path)
    for i in range(10125 + 81):
        (root / "images" / f"pad_{i}.png").touch()  # a full download's number of files, the CSV lists 3 rows
    with pytest.raises(LayoutError, match=r"lists 3 images of 2 references; the full set documents 10125 images of 81"):
        load_dataset("x", {"kind": "kadid10k", "path": str(root)})


def test_bad_score_line_is_named(tmp_path: Path) -> None:
    root = tid2013(tmp_path)
    (root / "mos_with_names.txt").write_text("5.5 i01_01_1.bmp\nnot a line\n")
    with pytest.raises(LayoutError, match=r"mos_with_names.txt line 2"):
        load_dataset("x", {"kind": "tid2013", "path": str(root)})


def bapps(root: Path) -> Path:
    for subset in ("traditional", "cnn"):
        folder = root / "2afc" / "val" / subset
        for part in ("ref", "p0", "p1"):
            image(folder / part / "000000.png")
        (folder / "judge").mkdir()
        np.save(folder / "judge" / "000000.npy", np.array([0.75 if subset == "cnn" else 0.0]))
    jnd = root / "jnd" / "val" / "traditional"
    for part in ("p0", "p1"):
        image(jnd / part / "000000.png")
    (jnd / "same").mkdir()
    np.save(jnd / "same" / "000000.npy", np.array([1.0]))
    return root


def test_bapps_reads_2afc_triplets_and_jnd_pairs(tmp_path: Path) -> None:
    data = load_bapps(bapps(tmp_path))
    assert list(data.twoafc["subset"]) == ["cnn", "traditional"]
    assert list(data.twoafc["judge"]) == [0.75, 0.0] and set(data.twoafc["split"]) == {"val"}
    assert list(data.jnd["same"]) == [1.0] and data.jnd["p1"].iloc[0].endswith("p1/000000.png")


def test_bapps_missing_image_is_named(tmp_path: Path) -> None:
    root = bapps(tmp_path)
    (root / "2afc" / "val" / "cnn" / "p1" / "000000.png").unlink()
    with pytest.raises(LayoutError, match=r"cnn/p1/000000.png"):
        load_bapps(root)


def test_wiring_watches_the_score_files_of_rated_kinds_only(tmp_path: Path) -> None:
    from perceptflow.wiring import rated_score_files

    root = pipal(tmp_path)
    assert rated_score_files({"kind": "pipal", "path": str(root)}) == [
        str(root / "Train_Label" / "A0001.txt"),
        str(root / "Train_Label" / "A0002.txt"),
    ]
    assert rated_score_files({"kind": "csv", "path": "x.csv"}) is None
