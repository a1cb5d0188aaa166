"""3D evaluation: leave-one-volume-out splits, 2AFC by severity, FR baselines and metrics.json, hand-computed."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from perceptflow.data.datasets import DatasetTable, save_table
from perceptflow.evaluate.comparison import comparison_table
from perceptflow.evaluate.volumes.stage import (
    build_volume_metrics,
    evaluate_volumes,
    leave_one_volume_out,
    severity_pairs,
    twoafc_by_severity,
    volume_baseline_scores,
    volume_fr_scores,
)
from perceptflow.features.store import FeatureStore, write_feature_store


def _table(rows: list[tuple[str, str, float]], higher_is_better: bool = False) -> DatasetTable:
    frame = pd.DataFrame(rows, columns=["ref_id", "dist_type", "target"])
    frame.insert(0, "image_id", [f"v{i}" for i in range(len(rows))])
    frame["path"] = [f"/d/v{i}.nii.gz" for i in range(len(rows))]
    frame["ref_path"] = [f"/d/{r}.nii.gz" for r in frame["ref_id"]]
    columns = ["image_id", "path", "ref_id", "ref_path", "target", "dist_type"]
    return DatasetTable("vols", frame[columns], "level", higher_is_better)


def test_leave_one_volume_out_rotates_test_and_validation_volumes() -> None:
    splits = leave_one_volume_out(["b", "a", "a", "c", "b", "c"])
    assert [s.test.tolist() for s in splits] == [[1, 2], [0, 4], [3, 5]]
    assert [s.val.tolist() for s in splits] == [[0, 4], [3, 5], [1, 2]]
    assert [s.train.tolist() for s in splits] == [[3, 5], [1, 2], [0, 4]]
    two = leave_one_volume_out(["a", "b", "a"])
    assert [s.test.tolist() for s in two] == [[0, 2], [1]] and all(s.val.size == 0 for s in two)
    assert two[0].train.tolist() == [1]
    with pytest.raises(ValueError, match="at least 2 source volumes"):
        leave_one_volume_out(["a", "a"])


def test_twoafc_by_severity_hand_computed() -> None:
    table = _table(
        [
            ("r0", "blur", 1), ("r0", "blur", 2), ("r0", "blur", 3),
            ("r0", "noise", 1), ("r0", "noise", 2),
            ("r1", "blur", 1), ("r1", "blur", 1),
        ]
    )  # fmt: skip
    better, worse, types = severity_pairs(table)
    assert types.tolist() == ["blur", "blur", "blur", "noise"]
    assert sorted(zip(better.tolist(), worse.tolist(), strict=True)) == [(0, 1), (0, 2), (1, 2), (3, 4)]
    distances = np.array([0.1, 0.3, 0.2, 0.5, 0.5, 0.9, 0.1])
    result = twoafc_by_severity(distances, table)
    # blur: 0.1 < 0.3 yes, 0.1 < 0.2 yes, level 2 (0.3) vs level 3 (0.2) no; noise: a tie, half credit
    assert result["n_pairs"] == 4
    assert result["score"] == pytest.approx(2.5 / 4)
    assert result["per_type"] == pytest.approx({"blur": 2 / 3, "noise": 0.5})
    # the same pairs with a higher-is-better target (MOS): the higher target is the better volume
    mos = _table([("r0", "blur", 5), ("r0", "blur", 4)], higher_is_better=True)
    assert twoafc_by_severity(np.array([0.2, 0.1]), mos)["score"] == 0.0
    assert "skipped" in twoafc_by_severity(np.zeros(1), _table([("r0", "blur", 1)]))


def test_volume_fr_scores_hand_computed() -> None:
    reference = np.full((8, 8, 8), 0.5, dtype=np.float32)
    scores = volume_fr_scores(reference, reference + 0.1)
    assert scores["nrmse"] == pytest.approx(0.2, rel=1e-5)  # 0.1 / 0.5
    assert scores["psnr"] == pytest.approx(20.0, rel=1e-4)  # 10 log10(1 / 0.01)
    assert volume_fr_scores(reference, reference)["ssim3d"] == pytest.approx(1.0)
    assert volume_fr_scores(reference, reference)["psnr"] == np.inf
    with pytest.raises(ValueError, match="differs"):
        volume_fr_scores(reference, reference[:4])


def _bank(tmp_path: Path) -> tuple[DatasetTable, FeatureStore, FeatureStore, pd.DataFrame]:
    """Three volumes x two artefacts x three levels; the model's feature 0 grows with the level."""
    rows = [(f"r{v}", t, float(level)) for v in range(3) for t in ("blur", "noise") for level in (1, 2, 3)]
    table = _table(rows)
    rng = np.random.default_rng(0)
    levels = table.frame["target"].to_numpy()
    model = np.column_stack([levels + 0.01 * rng.standard_normal(levels.size), rng.standard_normal((levels.size, 3))])
    refs = np.zeros((3, 4), dtype=np.float32)
    model[:, 1:] *= 0.01
    ids = table.frame["image_id"].to_numpy(dtype=str)
    ref_ids = np.array(["r0", "r1", "r2"])
    stores = [
        FeatureStore(model.astype(np.float32), ids, refs, ref_ids),
        FeatureStore(rng.standard_normal((levels.size, 4)).astype(np.float32), ids, refs, ref_ids),
    ]
    fr = pd.DataFrame({"image_id": ids, "nrmse": 0.04 * levels, "psnr": 30 - levels, "ssim3d": 1 - 0.01 * levels})
    return table, *stores, fr


def test_build_volume_metrics_values_and_rows(tmp_path: Path) -> None:
    table, model, random_init, fr = _bank(tmp_path)
    metrics, predictions = build_volume_metrics(
        method="gvsl", table=table, model=model, baselines={"random_init": random_init}, fr_scores=fr, alphas=[0.01, 1]
    )
    assert metrics["n_splits"] == 3 and metrics["split_protocol"] == "leave-one-volume-out"
    assert metrics["n_volumes"] == 18 and metrics["n_refs"] == 3
    # distances ordered like the levels but without their ties: SRCC of distinct ranks against tied levels
    levels = table.frame["target"].to_numpy()
    best = stats.spearmanr(stats.rankdata(levels, method="ordinal"), levels).statistic
    assert best < 1.0 and metrics["fr_zero_shot"]["srcc"] == pytest.approx(best)
    assert metrics["twoafc"]["score"] == 1.0 and metrics["twoafc"]["n_pairs"] == 3 * 2 * 3
    per_volume = levels[:6]  # each test volume: levels 1, 2, 3 of two artefacts; predictions in level order
    best_volume = stats.spearmanr(stats.rankdata(per_volume, method="ordinal"), per_volume).statistic
    assert metrics["nr_ridge"]["srcc_median"] == pytest.approx(best_volume)
    assert set(metrics["fr_zero_shot"]["srcc_per_type"]) == {"blur", "noise"}
    for name in ("nrmse", "psnr", "ssim3d"):
        assert metrics["baselines"][name]["fr_zero_shot"]["srcc"] == pytest.approx(1.0)
        assert metrics["baselines"][name]["twoafc"]["score"] == 1.0
    assert -1.0 <= metrics["baselines"]["random_init"]["nr_ridge"]["srcc_median"] <= 1.0
    modes = {(row["model"], row["mode"]) for row in metrics["table"]}
    assert {("gvsl", "nr_ridge"), ("gvsl", "fr_zero_shot"), ("gvsl", "2afc"), ("random_init", "nr_ridge")} <= modes
    assert {("nrmse", "2afc"), ("psnr", "fr_zero_shot"), ("ssim3d", "2afc")} <= modes
    test_rows = predictions[predictions["subset"] == "test"]
    assert sorted(test_rows["split"].value_counts()) == [6, 6, 6]
    assert set(test_rows["image_id"]) == set(table.frame["image_id"])


def test_evaluate_volumes_from_files_and_baseline_scores(tmp_path: Path) -> None:
    table, model, random_init, fr = _bank(tmp_path)
    save_table(table, tmp_path / "table.csv")
    for name, store in (("model", model), ("random", random_init)):
        write_feature_store(
            tmp_path / f"{name}.zarr",
            features=store.features,
            image_ids=list(store.image_ids),
            ref_features=store.ref_features,
            ref_ids=list(store.ref_ids),
            attributes={},
        )
    fr.to_csv(tmp_path / "fr.csv", index=False)
    inputs = {
        "table": str(tmp_path / "table.csv"),
        "model_features": str(tmp_path / "model.zarr"),
        "baseline_features": str(tmp_path / "random.zarr"),
        "fr_scores": str(tmp_path / "fr.csv"),
    }
    outputs = {k: str(tmp_path / v) for k, v in {"metrics": "m.json", "predictions": "p.csv", "plot": "p.png"}.items()}
    evaluate_volumes("contrastive3d", inputs, outputs, alphas=[1.0])
    written = json.loads(Path(outputs["metrics"]).read_text())
    assert written["method"] == "contrastive3d" and written["twoafc"]["score"] == 1.0
    assert Path(outputs["plot"]).stat().st_size > 10_000
    assert len(pd.read_csv(outputs["predictions"])) == 3 * 18
    report = comparison_table([outputs["metrics"]]).set_index(["model", "mode"])
    assert report.loc[("contrastive3d", "2afc"), "2afc"] == 1.0
    assert report.loc[("nrmse", "2afc"), "kind"] == "baseline"
    gain = report.loc[("contrastive3d", "2afc"), "srcc_gain_vs_random_init"]
    assert gain == pytest.approx(1.0 - written["baselines"]["random_init"]["twoafc"]["score"])

    reference = np.full((8, 8, 8), 0.5, dtype=np.float32)
    affine = np.eye(4)
    nib.save(nib.Nifti1Image(reference, affine), tmp_path / "ref.nii.gz")
    nib.save(nib.Nifti1Image(reference + 0.1, affine), tmp_path / "d.nii.gz")
    frame = pd.DataFrame(
        {"image_id": ["d"], "path": [str(tmp_path / "d.nii.gz")], "ref_id": ["ref"]}
        | {"ref_path": [str(tmp_path / "ref.nii.gz")], "target": [1.0], "dist_type": ["x"]}
    )
    scores = volume_baseline_scores(DatasetTable("one", frame, "level", False), threads=2)
    assert list(scores.columns) == ["nrmse", "psnr", "ssim3d", "image_id"]
    assert scores.loc[0, "psnr"] == pytest.approx(20.0, rel=1e-4)
