"""SRCC/PLCC/KRCC/RMSE against scipy, the VQEG logistic, orientation, and errors on degenerate input."""

import numpy as np
import pytest
from scipy import stats

from perceptflow.evaluate import (
    ConstantInputError,
    correlation_metrics,
    fit_logistic4,
    krcc,
    orient,
    plcc,
    plcc_logistic,
    rmse,
    srcc,
)
from perceptflow.evaluate.logistic import logistic4


@pytest.fixture
def paired() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    a = rng.normal(size=200)
    return a, 0.6 * a + rng.normal(size=200)


def test_correlations__equal_scipy_on_random_data(paired):
    a, b = paired
    assert srcc(a, b) == pytest.approx(stats.spearmanr(a, b).statistic, abs=1e-12)
    assert plcc(a, b) == pytest.approx(stats.pearsonr(a, b).statistic, abs=1e-12)
    assert krcc(a, b) == pytest.approx(stats.kendalltau(a, b).statistic, abs=1e-12)
    assert rmse(a, b) == pytest.approx(np.sqrt(np.mean((a - b) ** 2)), rel=1e-12)


def test_correlation_metrics__keys_and_values(paired):
    a, b = paired
    metrics = correlation_metrics(a, b)
    assert list(metrics) == ["srcc", "plcc", "plcc_logistic", "krcc", "rmse", "n"]
    assert metrics["n"] == 200 and metrics["srcc"] == pytest.approx(srcc(a, b))


def test_plcc_logistic__not_below_raw_plcc_on_monotone_nonlinear_relation():
    rng = np.random.default_rng(1)
    x = rng.uniform(-3, 3, size=300)
    y = np.tanh(2 * x) + 0.05 * rng.normal(size=300)
    assert plcc_logistic(x, y) >= plcc(x, y) + 0.02
    assert plcc_logistic(x, y) > 0.99


def test_fit_logistic4__recovers_a_known_logistic():
    x = np.linspace(-10, 30, 200)
    y = logistic4(x, 80.0, 10.0, 12.0, 4.0) + 0.01 * np.random.default_rng(2).normal(size=200)
    fit = fit_logistic4(x, y)
    assert fit.kind == "logistic4" and not fit.is_fallback
    np.testing.assert_allclose(fit.params, (80.0, 10.0, 12.0, 4.0), rtol=1e-2)


def test_fit_logistic4__decreasing_relation_gives_positive_plcc():
    x = np.linspace(0, 1, 50)
    y = logistic4(x, 0.0, 100.0, 0.4, 0.1)  # quality falls as the score rises (e.g. DMOS vs PSNR)
    assert plcc_logistic(x, y) == pytest.approx(1.0, abs=1e-6)


def test_fit_logistic4__falls_back_to_linear_and_records_it():
    fit = fit_logistic4([1.0, 2.0, 3.0, 5.0], [2.0, 4.0, 6.5, 9.0])
    assert fit.is_fallback and fit.kind == "linear" and "fewer than 5" in fit.reason
    slope, intercept = stats.linregress([1.0, 2.0, 3.0, 5.0], [2.0, 4.0, 6.5, 9.0])[:2]
    np.testing.assert_allclose(fit.params, (slope, intercept))


def test_orient__negates_lower_is_better():
    np.testing.assert_array_equal(orient([1, 2], higher_is_better=True), [1.0, 2.0])
    np.testing.assert_array_equal(orient([1, 2], higher_is_better=False), [-1.0, -2.0])
    distance, dmos = np.array([0.1, 0.5, 0.3, 0.9]), np.array([10.0, 40.0, 35.0, 70.0])  # both lower = better
    assert srcc(orient(distance, False), orient(dmos, False)) == pytest.approx(1.0)


def test_correlations__constant_input_names_the_argument():
    with pytest.raises(ConstantInputError, match="target is constant"):
        correlation_metrics([1.0, 2.0, 3.0], [4.0, 4.0, 4.0])
    with pytest.raises(ConstantInputError, match="srcc is undefined: a is constant"):
        srcc([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        ([1.0, np.nan, 3.0], [1.0, 2.0, 3.0], "1 NaN"),
        ([1.0, 2.0], [1.0, 2.0, 3.0], "differ in length"),
        ([1.0], [2.0], "at least 2"),
        ([[1.0, 2.0]], [[1.0, 2.0]], "1-D"),
    ],
)
def test_correlations__bad_input_raises(a, b, message):
    with pytest.raises(ValueError, match=message):
        plcc(a, b)


def test_rank_correlations__accept_infinite_scores_but_plcc_does_not():
    scores, target = [np.inf, 30.0, 20.0, 10.0], [0.0, 1.0, 2.0, 3.0]
    assert srcc(scores, target) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="1 infinite"):
        plcc(scores, target)
