"""DPS triplet sets from the bank's references, and their 2AFC scoring (ties count 0.5)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from perceptflow.data.images import load_rgb
from perceptflow.distortions.bank import BankSpec, collect_references, generate_bank
from perceptflow.distortions.dps.contexts import DPS_TYPES, make_triplet
from perceptflow.distortions.dps.stage import distort_dps_triplets
from perceptflow.distortions.dps.triplets import (
    TRIPLET_COLUMNS,
    DpsSpec,
    reference_patches,
    triplet_rng,
)
from perceptflow.dps.stage import evaluate_dps_2afc
from perceptflow.dps.twoafc import load_triplets, pixel_distances, score_triplet_table
from perceptflow.models import build_encoder, save_encoder

PARAMS = {"n_triplets": 7, "rankings": 2, "seed": 0}


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bank")
    refs = collect_references({"kind": "demo", "names": ["astronaut", "chelsea", "coffee"]})
    table = generate_bank(refs, BankSpec(types=("jpeg",), levels=(1,), crop=48, resize=48), out_dir=root / "images")
    table.to_csv(root / "manifest.csv", index=False)
    return root / "manifest.csv"


def _triplets(manifest: Path, out: Path, threads: int = 1) -> pd.DataFrame:
    return distort_dps_triplets(
        PARAMS, manifest=manifest, out_dir=out / "images", csv_path=out / "triplets.csv", threads=threads
    )


def test_triplet_csv__shape_judges_and_64px_images(manifest: Path, tmp_path: Path) -> None:
    table = _triplets(manifest, tmp_path)
    assert list(pd.read_csv(tmp_path / "triplets.csv").columns) == list(TRIPLET_COLUMNS)
    assert len(table) == 7 * 2 and table["triplet_id"].is_unique
    assert sorted(table["context"].unique()) == [0, 1]
    assert set(table["judge"]) <= {0.0, 1.0} and len(set(table["judge"])) == 2
    assert set(table["ref_id"]) == {"astronaut", "chelsea", "coffee"}
    for row in table.itertuples():
        ranking = row.ranking.split(">")
        assert sorted(ranking) == sorted(DPS_TYPES) and row.p0_type != row.p1_type
        p0_first = ranking.index(row.p0_type) < ranking.index(row.p1_type)
        assert row.judge == (0.0 if p0_first else 1.0)
        for column in ("ref_path", "p0_path", "p1_path"):
            assert load_rgb(tmp_path / getattr(row, column)).shape == (64, 64, 3)


def test_triplets__replay_and_are_byte_identical_across_threads(manifest: Path, tmp_path: Path) -> None:
    one, two = _triplets(manifest, tmp_path / "one", 1), _triplets(manifest, tmp_path / "two", 2)
    pd.testing.assert_frame_equal(one, two)
    for row in one.itertuples():
        for column in ("p0_path", "p1_path"):
            rel = getattr(row, column)
            assert (tmp_path / "one" / rel).read_bytes() == (tmp_path / "two" / rel).read_bytes()
    row = one.iloc[5]
    patch = reference_patches(manifest)[row["ref_id"]]
    rng = triplet_rng(0, row["ref_id"], int(row["context"]), 5)
    _, p0, p1, judge = make_triplet(patch, row["ranking"].split(">"), rng)
    np.testing.assert_array_equal(load_rgb(tmp_path / "one" / row["p0_path"]), p0)
    np.testing.assert_array_equal(load_rgb(tmp_path / "one" / row["p1_path"]), p1)
    assert judge == row["judge"]


def test_dps_spec__names_the_config_key() -> None:
    with pytest.raises(ValueError, match=r"distort\.dps\.n_triplets"):
        DpsSpec(n_triplets=0)


@pytest.fixture
def hand_made(tmp_path: Path) -> Path:
    """Four triplets on flat grey patches: ref 128, "close" 132, "far" 160."""
    for name, value in (("ref", 128), ("close", 132), ("far", 160)):
        Image.fromarray(np.full((64, 64, 3), value, dtype=np.uint8)).save(tmp_path / f"{name}.png")
    rows = [  # (p0, p1, judge) -> 2AFC credit
        ("close.png", "far.png", 0.0),  # p0 closer, humans agree: 1
        ("close.png", "far.png", 1.0),  # p0 closer, humans prefer p1: 0
        ("far.png", "far.png", 0.0),  # tie: 0.5
        ("far.png", "close.png", 0.25),  # p1 closer, 25 % prefer p1: 0.25
    ]
    frame = pd.DataFrame(
        [
            {"triplet_id": f"t{i}", "context": i % 2, "ranking": "x", "ref_id": "flat", "ref_path": "ref.png",
             "p0_path": p0, "p1_path": p1, "judge": judge}
            for i, (p0, p1, judge) in enumerate(rows)
        ]
    )  # fmt: skip
    frame.to_csv(tmp_path / "triplets.csv", index=False)
    return tmp_path / "triplets.csv"


def test_2afc__hand_made_case_with_a_tie(hand_made: Path) -> None:
    triplets = load_triplets(hand_made)
    result = score_triplet_table(triplets, pixel_distances(triplets))
    expected = (1 + 0 + 0.5 + 0.25) / 4
    assert result["score_2afc"] == {"psnr": pytest.approx(expected), "ssim": pytest.approx(expected)}
    assert result["ties"] == {"psnr": 1, "ssim": 1}
    assert result["per_context"]["0"]["psnr"] == pytest.approx((1 + 0.5) / 2)
    assert result["per_context"]["1"]["psnr"] == pytest.approx((0 + 0.25) / 2)


def test_run_dps_2afc__scores_every_encoder_and_writes_json(hand_made: Path, tmp_path: Path) -> None:
    save_encoder(build_encoder("resnet18", seed=0), tmp_path / "enc.pt", method="random_init")
    out = tmp_path / "2afc.json"
    result = evaluate_dps_2afc(hand_made, {"random_init": tmp_path / "enc.pt"}, out=out, fr_distance="cosine")
    assert json.loads(out.read_text()) == result
    assert set(result["score_2afc"]) == {"psnr", "ssim", "random_init"}
    assert result["ties"]["random_init"] >= 1  # p0 and p1 are the same file in triplet 2
    assert 0.0 <= result["score_2afc"]["random_init"] <= 1.0
    assert (result["n_triplets"], result["n_contexts"], result["fr_distance"]) == (4, 2, "cosine")


def test_load_triplets__bad_judge_names_the_file(hand_made: Path) -> None:
    frame = pd.read_csv(hand_made).assign(judge=[0, 1, 2, 0])
    frame.to_csv(hand_made, index=False)
    with pytest.raises(ValueError, match=r"triplets\.csv.*judge"):
        load_triplets(hand_made)
