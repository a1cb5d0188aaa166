"""The adapt_dps stage (perceptflow.dps.stage): splits, files, the adapted metric's held-out gain, the rule."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from PIL import Image

from perceptflow.distortions.dps.triplets import DpsSpec, generate_triplets
from perceptflow.dps.spec import AdaptSpec, split_indices, triplets_from_frame
from perceptflow.dps.stage import adapt_dps, load_adapted_metric, load_pretrained
from perceptflow.dps.synthetic import synthetic_distances
from perceptflow.dps.triplets import score_triplets
from perceptflow.dps.twoafc import load_triplets
from perceptflow.evaluate.comparison import comparison_table
from perceptflow.metric.distance import PerceptualDistance
from perceptflow.models import build_encoder, save_encoder

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))
from workflow_support import ROOT, planned_jobs, run_snakemake, tiny_config


def _patches(count: int, seed: int) -> dict[str, np.ndarray]:
    """Smooth colour fields with a sharp-edged rectangle and mild noise, 64x64 uint8, by ref id."""
    rng = np.random.default_rng(seed)
    out = {}
    for index in range(count):
        coarse = rng.uniform(0, 255, (8, 8, 3)).astype(np.uint8)
        base = np.asarray(Image.fromarray(coarse).resize((64, 64), Image.Resampling.BICUBIC), dtype=np.float64)
        y, x = np.mgrid[:64, :64]
        cy, cx = rng.uniform(8, 40, 2)
        base[(y < cy) & (x < cx)] = rng.uniform(0, 255, 3)
        out[f"ref{index:02d}"] = np.clip(base + rng.normal(0, 10, base.shape), 0, 255).astype(np.uint8)
    return out


@pytest.fixture(scope="module")
def triplet_csv(tmp_path_factory) -> Path:
    """Two contexts x 60 triplets from 12 synthetic references, written as distort_dps_triplets writes them."""
    root = tmp_path_factory.mktemp("dps")
    table = generate_triplets(_patches(12, seed=0), DpsSpec(n_triplets=60, rankings=2, seed=0), out_dir=root / "images")
    table.to_csv(root / "triplets.csv", index=False)
    return root / "triplets.csv"


@pytest.fixture(scope="module")
def encoder_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("enc") / "encoder.pt"
    save_encoder(build_encoder("resnet18", seed=0), path, method="random_init", metadata={"seed": 0})
    return path


@pytest.fixture(scope="module")
def bank_manifest(tmp_path_factory) -> Path:
    """A tiny distort bank: 4 references x Gaussian blur at levels 1..3 (radius 1, 2, 4), as distort writes it."""
    from PIL import ImageFilter

    root = tmp_path_factory.mktemp("bank")
    (root / "images").mkdir()
    rows = []
    for ref_id, patch in list(_patches(4, seed=5).items()):
        ref_path = f"images/{ref_id}.png"
        Image.fromarray(patch).save(root / ref_path)
        rows.append({"image_id": f"{ref_id}__pristine", "dist_type": "pristine", "level": 0, "path": ref_path})
        for level, radius in ((1, 1), (2, 2), (3, 4)):
            path = f"images/{ref_id}__blur__{level}.png"
            Image.fromarray(patch).filter(ImageFilter.GaussianBlur(radius)).save(root / path)
            rows.append(
                {"image_id": f"{ref_id}__blur__{level}", "dist_type": "gaussian_blur", "level": level, "path": path}
            )
    table = pd.DataFrame(rows).assign(ref_path=lambda t: [f"images/{i.split('__')[0]}.png" for i in t["image_id"]])
    table.to_csv(root / "manifest.csv", index=False)
    return root / "manifest.csv"


def test_split_indices_are_disjoint_complete_and_seeded() -> None:
    parts = split_indices(100, (0.6, 0.2, 0.2), seed=3)
    assert [len(parts[k]) for k in ("train", "val", "test")] == [60, 20, 20]
    joined = np.concatenate(list(parts.values()))
    assert sorted(joined.tolist()) == list(range(100))
    again = split_indices(100, (0.6, 0.2, 0.2), seed=3)
    assert all(np.array_equal(parts[k], again[k]) for k in parts)
    other = split_indices(100, (0.6, 0.2, 0.2), seed=4)
    assert not np.array_equal(parts["test"], other["test"])


def test_split_by_reference_keeps_each_reference_in_one_split() -> None:
    groups = [f"r{i % 10}" for i in range(50)]
    parts = split_indices(50, (0.6, 0.2, 0.2), seed=0, groups=groups)
    seen = {k: {groups[i] for i in v} for k, v in parts.items()}
    assert [len(seen[k]) for k in ("train", "val", "test")] == [6, 2, 2]
    assert not (seen["train"] & seen["test"]) and not (seen["train"] & seen["val"]) and not (seen["val"] & seen["test"])
    assert sum(len(v) for v in parts.values()) == 50
    with pytest.raises(ValueError, match="split_by: reference"):
        split_indices(10, (0.6, 0.2, 0.2), seed=0, groups=["a", "b"] * 5)


def test_spec_errors_name_the_config_key() -> None:
    assert AdaptSpec.from_config({"enabled": True, "variants": ["lin"], "lr": 0.1, "layers": ["layer1"]}).lr == 0.1
    assert AdaptSpec().backbone_lr == 1e-4 and AdaptSpec.from_config({"backbone_lr": 1e-3}).backbone_lr == 1e-3
    for section, key in (
        ({"epochs": 0}, "adapt_dps.epochs"),
        ({"fractions": [0.5, 0.5, 0.5]}, "adapt_dps.fractions"),
        ({"split_by": "image"}, "adapt_dps.split_by"),
        ({"lr": 0}, "adapt_dps.lr"),
        ({"backbone_lr": 0}, "adapt_dps.backbone_lr"),
        ({"backbone_lr": -1e-4}, "adapt_dps.backbone_lr"),
    ):
        with pytest.raises(ValueError, match=key):
            AdaptSpec.from_config(section)


def test_pretrained_file_errors_name_the_file(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=r"missing\.pt"):
        load_pretrained(tmp_path / "missing.pt")
    bad = tmp_path / "bad.pt"
    torch.save({"something": torch.zeros(2)}, bad)
    with pytest.raises(ValueError, match=r"bad\.pt"):
        load_pretrained(bad)
    import torchvision

    weights = tmp_path / "tv.pt"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), weights)
    assert load_pretrained(weights).arch == "resnet18"  # a local torchvision weights file


def test_run_writes_loadable_metric_history_and_scores(tmp_path, triplet_csv, encoder_file, bank_manifest) -> None:
    params = {"epochs": 2, "lr": 0.05, "batch_size": 16, "layers": ["layer1", "layer2"], "seed": 0}
    out = {name: tmp_path / name for name in ("metric.pt", "history.csv", "2afc.json")}
    summary = adapt_dps(
        triplet_csv,
        encoder_file,
        encoder_name="random_init",
        variant="lin",
        params=params,
        metric_out=out["metric.pt"],
        history_out=out["history.csv"],
        scores_out=out["2afc.json"],
        manifest=bank_manifest,
        fr_datasets=["synthetic"],
    )
    scores = json.loads(out["2afc.json"].read_text())
    assert scores == json.loads(json.dumps(summary))
    assert set(scores["contexts"]) == {"0", "1"}
    for result in scores["contexts"].values():
        assert result["sizes"] == {"train": 36, "val": 12, "test": 12}
        assert 0 <= result["untrained_test"] <= 1 and 0 <= result["adapted_test"] <= 1
        assert result["adapted_val"] >= result["untrained_val"]  # selection keeps the untrained state otherwise
        assert result["untrained_synthetic_srcc"] > 0.8  # more blur, larger distance to the reference
        assert -1 <= result["adapted_synthetic_srcc"] <= 1
    history = pd.read_csv(out["history.csv"])
    assert list(history["context"]) == [0, 0, 1, 1]
    assert {"epoch", "bce", "train_2afc", "val_2afc", "selected"} <= set(history.columns)

    payload = torch.load(out["metric.pt"], weights_only=True)
    assert payload["variant"] == "lin" and set(payload["contexts"]) == {"0", "1"}
    triplets = load_triplets(triplet_csv)
    for context, result in scores["contexts"].items():
        metric, _judge = load_adapted_metric(out["metric.pt"], context)
        held_out = triplets.set_index("triplet_id").loc[result["test_triplet_ids"]].reset_index()
        assert score_triplets(metric, triplets_from_frame(held_out)) == pytest.approx(result["adapted_test"])
    table = comparison_table([], [out["2afc.json"]])
    twoafc = table[table["mode"] == "2afc"].set_index("model")
    assert set(twoafc["dataset"]) == {"dps_heldout"}
    assert twoafc.loc["random_init/dps_lin", "2afc"] == pytest.approx(scores["adapted_test_2afc"])
    assert twoafc.loc["random_init/dps_untrained", "2afc"] == pytest.approx(scores["untrained_test_2afc"])
    # The distance as a full-reference score joins the bank dataset's fr_zero_shot rows.
    full_reference = table[table["mode"] == "fr_zero_shot"].set_index("model")
    assert set(full_reference["dataset"]) == {"synthetic"}
    adapted = np.mean([c["adapted_synthetic_srcc"] for c in scores["contexts"].values()])
    assert full_reference.loc["random_init/dps_lin", "srcc"] == pytest.approx(adapted)
    untrained = scores["contexts"]["0"]["untrained_synthetic_srcc"]
    assert full_reference.loc["random_init/dps_untrained", "srcc"] == pytest.approx(untrained)
    with pytest.raises(ValueError, match="contexts"):
        load_adapted_metric(out["metric.pt"], 7)
    with pytest.raises(ValueError, match=r"2afc\.json"):
        load_adapted_metric(out["2afc.json"], 0)


def test_missing_triplet_csv_is_named(tmp_path, encoder_file) -> None:
    with pytest.raises(ValueError, match=r"nope\.csv"):
        adapt_dps(
            tmp_path / "nope.csv",
            encoder_file,
            encoder_name="x",
            variant="lin",
            params={},
            metric_out=tmp_path / "m.pt",
            history_out=tmp_path / "h.csv",
            scores_out=tmp_path / "s.json",
        )


def _plan(tmp_path: Path, adapt_dps: dict | None, dps: bool = True):
    config = tiny_config(None)
    config["distort"]["dps"] = {"enabled": dps, "n_triplets": 40, "rankings": 1, "seed": 0}
    config.pop("adapt_dps", None)  # None: the section is absent
    if adapt_dps is not None:
        config["adapt_dps"] = adapt_dps
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return run_snakemake(tmp_path, path, "-n", "--cores", "1", check=False)


@pytest.mark.slow
def test_rule_is_planned_only_when_enabled(tmp_path) -> None:
    assert (ROOT / "rules" / "adapt_dps.smk").is_file()
    enabled = _plan(tmp_path, {"enabled": True, "variants": ["lin", "tune"], "encoders": ["contrique", "random_init"]})
    assert enabled.returncode == 0, enabled.stderr[-3000:]
    assert planned_jobs(enabled)["adapt_dps"] == 4
    assert "adapt_dps" not in planned_jobs(_plan(tmp_path, {"enabled": False}))
    assert "adapt_dps" not in planned_jobs(_plan(tmp_path, None))
    refused = _plan(tmp_path, {"enabled": True}, dps=False)
    assert refused.returncode != 0 and "distort.dps.enabled" in refused.stdout + refused.stderr


def test_synthetic_distances_follow_the_level_and_name_a_bad_manifest(tmp_path, encoder_file, bank_manifest) -> None:
    metric = PerceptualDistance("baseline", load_pretrained(encoder_file), layers=("layer1", "layer2"))
    table = synthetic_distances(metric, bank_manifest)
    assert len(table) == 12 and set(table["level"]) == {1, 2, 3}
    per_ref = table.assign(ref=table["image_id"].str.split("__").str[0]).pivot(
        index="ref", columns="level", values="distance"
    )
    assert (per_ref[3] > per_ref[1]).all()
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"path": ["x.png"]}).to_csv(bad, index=False)
    with pytest.raises(ValueError, match=r"bad\.csv"):
        synthetic_distances(metric, bad)
