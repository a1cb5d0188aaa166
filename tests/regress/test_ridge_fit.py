"""Ridge on splits: alpha chosen by validation SRCC, predictions table."""

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import Ridge

from perceptflow.regress import Split, content_splits, fit_ridge_on_splits

ALPHAS = [1e-3, 1e-1, 1e1, 1e3, 1e5]


def correlated_features(n: int, seed: int) -> np.ndarray:
    """Two features sharing a strong common factor z1: x1 = z1, x2 = z1 + 0.1 z2."""
    z = np.random.default_rng(seed).normal(size=(n, 2))
    return np.column_stack([z[:, 0], z[:, 0] + 0.1 * z[:, 1]])


def one_split(n_train: int, n_val: int, n_test: int) -> Split:
    rows = np.arange(n_train + n_val + n_test, dtype=np.int64)
    return Split(0, rows[:n_train], rows[n_train : n_train + n_val], rows[n_train + n_val :])


def test_fit_ridge__small_alpha_wins_when_signal_is_the_weak_direction():
    # y = x2 - x1 = 0.1 z2: only a nearly unshrunk fit recovers it; a large alpha predicts along z1.
    x = correlated_features(90, seed=0)
    y = x[:, 1] - x[:, 0]
    result = fit_ridge_on_splits(x, y, [one_split(50, 20, 20)], ALPHAS)
    assert result.alphas[0] == min(ALPHAS)
    assert result.val_srcc[0][min(ALPHAS)] == pytest.approx(1.0)
    assert all(result.val_srcc[0][a] < 0.98 for a in ALPHAS[1:])


def test_fit_ridge__large_alpha_wins_when_val_follows_the_shrunk_direction():
    # Train: x1 = z1, x2 = x1 + 0.1 z2 (scaled by 10) and targets x1, so weak shrinkage fits coefficients
    # (1, 0) while strong shrinkage tends to X^T y, i.e. (1, 1). Validation features are independent and
    # targets are x1 + x2, so only the largest alpha ranks them well.
    alphas = [1e-3, 1e-1, 1e1, 1e3]
    split = one_split(50, 20, 20)
    x = 10 * correlated_features(90, seed=2)
    x[50:] = np.random.default_rng(2).normal(size=(40, 2))
    y = np.where(np.isin(np.arange(90), split.train), x[:, 0], x[:, 0] + x[:, 1])
    result = fit_ridge_on_splits(x, y, [split], alphas)
    assert result.alphas[0] == max(alphas)
    scores = result.val_srcc[0]
    assert all(scores[max(alphas)] > scores[a] + 0.1 for a in alphas[:-1])


def test_fit_ridge__val_srcc_matches_one_ridge_per_alpha_and_refit():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(60, 8)), rng.normal(size=60)
    split = Split(3, np.arange(0, 40), np.arange(40, 50), np.arange(50, 60))
    result = fit_ridge_on_splits(x, y, [split], ALPHAS)
    for alpha in ALPHAS:
        model = Ridge(alpha=alpha).fit(x[split.train], y[split.train])
        expected = stats.spearmanr(model.predict(x[split.val]), y[split.val]).statistic
        assert result.val_srcc[3][alpha] == pytest.approx(expected, abs=1e-12)
    best = Ridge(alpha=result.alphas[3]).fit(x[split.train], y[split.train])
    test = result.predictions.query("subset == 'test'")
    np.testing.assert_allclose(test["prediction"], best.predict(x[split.test]), rtol=1e-8, atol=1e-10)


def test_fit_ridge__ties_go_to_the_larger_alpha():
    x = np.arange(30, dtype=float)[:, None]  # one feature: every alpha ranks identically
    result = fit_ridge_on_splits(x, 2 * x[:, 0] + 1, [one_split(20, 5, 5)], ALPHAS)
    assert result.alphas[0] == max(ALPHAS)


def test_fit_ridge__predictions_table_shape_and_columns():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(40, 4)), rng.normal(size=40)
    splits = [one_split(28, 4, 8), Split(1, np.arange(12, 40), np.arange(8, 12), np.arange(0, 8))]
    table = fit_ridge_on_splits(x, y, splits, ALPHAS).predictions
    assert list(table.columns) == ["split", "subset", "row", "target", "prediction"]
    assert len(table) == 2 * 40
    assert table.groupby(["split", "subset"]).size().to_dict() == {
        (0, "test"): 8,
        (0, "train"): 28,
        (0, "val"): 4,
        (1, "test"): 8,
        (1, "train"): 28,
        (1, "val"): 4,
    }
    np.testing.assert_array_equal(table["target"], y[table["row"]])


@pytest.mark.parametrize(
    ("features", "targets", "alphas", "message"),
    [
        (np.zeros((5, 2)), np.zeros(4), [1.0], "targets must have shape"),
        (np.zeros(5), np.zeros(5), [1.0], "2-D"),
        (np.full((5, 2), np.nan), np.zeros(5), [1.0], "non-finite"),
        (np.zeros((5, 2)), np.zeros(5), [], "alphas is empty"),
        (np.zeros((5, 2)), np.zeros(5), [-1.0], ">= 0"),
    ],
)
def test_fit_ridge__bad_input_raises(features, targets, alphas, message):
    with pytest.raises(ValueError, match=message):
        fit_ridge_on_splits(features, targets, [one_split(3, 1, 1)], alphas)


def test_fit_ridge__out_of_range_split_raises():
    with pytest.raises(ValueError, match=r"split 0 test rows must lie in \[0, 5\)"):
        split = Split(0, np.arange(3), np.array([3]), np.array([9]))
        fit_ridge_on_splits(np.eye(5), np.arange(5.0), [split], [1.0])


def test_a_single_alpha_grid_works() -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(60, 5))
    targets = features @ rng.normal(size=5)
    splits = content_splits([str(i // 5) for i in range(60)], 2)
    result = fit_ridge_on_splits(features, targets, splits, [1.0])
    assert result.alphas == {0: 1.0, 1: 1.0}
    assert len(result.predictions) == 2 * 60
