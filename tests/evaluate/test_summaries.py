"""Summaries over splits: medians on a hand-made table, per-type SRCC, zero-shot orientation."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from perceptflow.evaluate import summarize_nr, summarize_zero_shot
from perceptflow.regress import Split

TARGET = [1.0, 2.0, 3.0, 4.0, 5.0]
# Test-row predictions per split and their SRCC with TARGET, worked out by hand.
PREDICTIONS = {0: ([1.0, 2, 3, 4, 5], 1.0), 1: ([1.0, 2, 3, 5, 4], 0.9), 2: ([5.0, 4, 3, 2, 1], -1.0)}


def hand_table() -> pd.DataFrame:
    records = []
    for split, (prediction, _) in PREDICTIONS.items():
        for row, (t, p) in enumerate(zip(TARGET, prediction, strict=True)):
            records.append({"split": split, "subset": "test", "row": row, "target": t, "prediction": p})
        records.append({"split": split, "subset": "train", "row": 9, "target": 0.0, "prediction": 99.0})
    return pd.DataFrame(records)


def test_summarize_nr__median_mean_std_over_splits():
    summary = summarize_nr(hand_table())
    per_split = [record["srcc"] for record in summary["per_split"]]
    assert per_split == pytest.approx([value for _, value in PREDICTIONS.values()])
    assert summary["srcc_median"] == pytest.approx(0.9)
    assert summary["srcc_mean"] == pytest.approx(0.3)
    assert summary["srcc_std"] == pytest.approx(np.std([1.0, 0.9, -1.0], ddof=1))
    assert summary["n_median"] == 5 and summary["n_splits"] == 3
    for key in ("plcc", "plcc_logistic", "krcc", "rmse"):
        assert {f"{key}_median", f"{key}_mean", f"{key}_std"} <= set(summary)


def test_summarize_nr__srcc_per_type_skips_small_groups():
    types = pd.Series(["a", "a", "a", "b", "b"], index=range(5))  # type b has 2 rows: skipped
    summary = summarize_nr(hand_table(), types=types)
    # type a (rows 0-2): predictions ranked 1,2,3 in splits 0 and 1, reversed in split 2.
    assert summary["srcc_per_type"] == {"a": pytest.approx(1.0)}
    assert summary["srcc_per_type_skipped"] == 3


def test_summarize_nr__missing_subset_and_columns_raise():
    with pytest.raises(ValueError, match="no 'val' rows"):
        summarize_nr(hand_table(), subset="val")
    with pytest.raises(ValueError, match="lacks columns"):
        summarize_nr(hand_table().drop(columns="prediction"))


def test_summarize_zero_shot__lower_is_better_score_and_target_agree_positively():
    distance = np.array([0.1, 0.2, 0.35, 0.3, 0.8, 0.9])
    dmos = np.array([5.0, 12.0, 30.0, 33.0, 60.0, 70.0])  # higher = worse, like a distance
    summary = summarize_zero_shot(distance, dmos, score_higher_is_better=False, target_higher_is_better=False)
    assert summary["srcc"] == pytest.approx(1 - 6 * 2 / (6 * 35))  # one adjacent swap
    assert summary["krcc"] > 0 and summary["plcc"] > 0 and summary["n"] == 6


def test_summarize_zero_shot__per_split_test_rows_and_types():
    rng = np.random.default_rng(0)
    target = rng.normal(size=12)
    scores = target + 0.3 * rng.normal(size=12)
    splits = [
        Split(0, np.arange(0, 6), np.arange(6, 8), np.arange(8, 12)),
        Split(1, np.arange(4, 10), np.arange(10, 12), np.arange(0, 4)),
    ]
    types = np.array(["x", "y"] * 6)
    summary = summarize_zero_shot(
        scores, target, score_higher_is_better=True, target_higher_is_better=True, splits=splits, types=types
    )
    expected = [stats.spearmanr(scores[s.test], target[s.test]).statistic for s in splits]
    assert summary["srcc_median"] == pytest.approx(np.median(expected))
    assert [r["n"] for r in summary["per_split"]] == [4, 4]
    assert summary["srcc_per_type_skipped"] == 4  # each type has 2 test rows per split


def test_summarize_zero_shot__infinite_psnr_is_ranked_and_left_out_of_plcc():
    psnr = np.array([np.inf, 40.0, 35.0, 30.0, 25.0, 22.0])
    dmos = np.array([0.0, 10.0, 22.0, 30.0, 45.0, 50.0])
    summary = summarize_zero_shot(psnr, dmos, score_higher_is_better=True, target_higher_is_better=False)
    assert summary["srcc"] == pytest.approx(1.0) and summary["n_infinite"] == 1
    assert np.isfinite(summary["plcc"])
