"""DPS distortions and the context (ranking) / 2AFC triplet protocol."""

from __future__ import annotations

import numpy as np
import pytest

from perceptflow.distortions import apply_distortion, distortions_in
from perceptflow.distortions._ops import from_uint8, to_uint8
from perceptflow.distortions.dps.contexts import (
    DPS_RANGES,
    DPS_TYPES,
    make_rankings,
    make_triplet,
    resize_for_dps,
    sample_dps,
)


@pytest.fixture
def patch64(photo: np.ndarray) -> np.ndarray:
    return resize_for_dps(photo)


def test_dps_types__are_registered_in_the_dps_domain() -> None:
    assert tuple(distortions_in("dps")) == DPS_TYPES
    assert set(DPS_RANGES) == set(DPS_TYPES)


def test_make_rankings__are_seeded_permutations_of_the_six() -> None:
    rankings = make_rankings(5, seed=0)
    assert rankings == make_rankings(5, seed=0) and rankings != make_rankings(5, seed=1)
    assert all(sorted(r) == sorted(DPS_TYPES) for r in rankings)
    assert len(set(rankings)) > 1
    with pytest.raises(ValueError, match=">= 1"):
        make_rankings(0, seed=0)


def test_resize_for_dps__gives_64x64(photo: np.ndarray) -> None:
    assert resize_for_dps(photo).shape == (64, 64, 3)


def test_make_triplet__judge_follows_the_ranking(patch64: np.ndarray) -> None:
    ranking = make_rankings(1, seed=3)[0]
    rng = np.random.default_rng(0)
    judges = []
    for _ in range(30):
        ref, p0, p1, judge = make_triplet(patch64, ranking, rng)
        assert ref.shape == p0.shape == p1.shape == (64, 64, 3) and p0.dtype == np.uint8
        assert np.array_equal(ref, patch64) and not np.array_equal(p0, p1)
        judges.append(judge)
    assert set(judges) == {0.0, 1.0}


def test_make_triplet__judge_is_0_when_p0_ranks_earlier(patch64: np.ndarray) -> None:
    ranking = tuple(DPS_TYPES)
    for seed in range(20):
        rng = np.random.default_rng(seed)
        first, second = np.random.default_rng(seed).choice(6, size=2, replace=False)
        _, _, _, judge = make_triplet(patch64, ranking, rng)
        assert judge == (0.0 if first < second else 1.0)


def test_make_triplet__is_deterministic_and_validates(patch64: np.ndarray) -> None:
    ranking = make_rankings(1, seed=0)[0]
    a = make_triplet(patch64, ranking, np.random.default_rng(9))
    b = make_triplet(patch64, ranking, np.random.default_rng(9))
    assert all(np.array_equal(x, y) for x, y in zip(a[:3], b[:3], strict=True)) and a[3] == b[3]
    with pytest.raises(ValueError, match="exactly once"):
        make_triplet(patch64, ranking[:5], np.random.default_rng(0))
    with pytest.raises(ValueError, match="uint8"):
        make_triplet(patch64.astype(float), ranking, np.random.default_rng(0))


def test_sample_dps__draws_within_the_dps_ranges(patch64: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    image = from_uint8(patch64)
    for name in DPS_TYPES:
        low, high = DPS_RANGES[name]
        for _ in range(5):
            out, params = sample_dps(image, name, rng)
            assert out.shape == image.shape
            if name == "translate":
                assert abs(params["dx"]) <= 32 and abs(params["dy"]) <= 32
            else:
                assert low <= params["value"] <= high
    with pytest.raises(KeyError, match="valid: rotate"):
        sample_dps(image, "blur", rng)


def test_dps_ops__do_what_they_say(patch64: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    rotated = apply_distortion(patch64, "rotate", 5, rng)  # 180 degrees, nearest neighbour
    assert np.abs(rotated[2:-2, 2:-2].astype(int) - patch64[::-1, ::-1][2:-2, 2:-2]).max() <= 1
    dark = apply_distortion(patch64, "darken_dps", 1, rng)  # brightness x 0.5
    assert np.abs(dark.astype(int) - np.rint(patch64 * 0.5)).max() <= 1
    zoomed = apply_distortion(patch64, "zoom_in", 5, rng)  # x2 about the centre
    assert np.array_equal(zoomed[32, 32], patch64[32, 32])
    hue = to_uint8(from_uint8(patch64))
    assert not np.array_equal(apply_distortion(hue, "hue", 5, rng), hue)
