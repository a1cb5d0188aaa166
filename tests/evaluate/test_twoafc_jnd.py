"""2AFC score and JND mAP on hand-computed cases (LPIPS definitions, Zhang et al., LPIPS/BAPPS, CVPR 2018)."""

import numpy as np
import pytest

from perceptflow.evaluate import jnd_map, score_2afc


def test_score_2afc__hand_computed_with_ties():
    d0, d1 = [1.0, 2.0, 3.0, 1.0], [2.0, 1.0, 3.0, 1.0]
    judge = [0.2, 0.6, 0.5, 1.0]
    # p0 closer: 1 - 0.2; p1 closer: 0.6; two ties: 0.5 each, whatever the humans said.
    assert score_2afc(d0, d1, judge) == pytest.approx((0.8 + 0.6 + 0.5 + 0.5) / 4)


def test_score_2afc__judge_outside_unit_interval_raises():
    with pytest.raises(ValueError, match=r"judge must lie in \[0, 1\]"):
        score_2afc([1.0], [2.0], [1.5])


def test_jnd_map__hand_computed():
    # Sorted by distance: same = 1, 0, 1, 0 -> precision 1, 1/2, 2/3, 1/2 at recall 1/2, 1/2, 1, 1.
    # Envelope at the recall steps: 1 and 2/3, so AP = 1/2 * 1 + 1/2 * 2/3.
    assert jnd_map([0.1, 0.4, 0.2, 0.3], [1.0, 0.0, 0.0, 1.0]) == pytest.approx(5 / 6)


def test_jnd_map__perfect_ranking_and_soft_labels():
    assert jnd_map([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0]) == pytest.approx(1.0)
    # Soft labels: TP = 0.5, 1.0; FP = 0.5, 1.5 -> precision 0.5, 0.4 at recall 0.5, 1.
    assert jnd_map(np.array([0.1, 0.2]), np.array([0.5, 0.5])) == pytest.approx(0.5 * 0.5 + 0.5 * 0.5)


def test_jnd_map__no_positive_pairs_raises():
    with pytest.raises(ValueError, match="at least one > 0"):
        jnd_map([0.1, 0.2], [0.0, 0.0])
