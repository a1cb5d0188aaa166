"""Composite chains: distinct groups, bounded length, byte-exact replay."""

from __future__ import annotations

import numpy as np
import pytest

from perceptflow.distortions import get_distortion
from perceptflow.distortions.compose import apply_chain, chain_label, sample_chain


def test_sample_chain__draws_distinct_groups_within_the_length() -> None:
    rng = np.random.default_rng(0)
    lengths = set()
    for _ in range(50):
        chain = sample_chain(rng, 4)
        groups = [get_distortion(name).group for name, _ in chain]
        assert 1 <= len(chain) <= 4 and len(set(groups)) == len(groups)
        assert all(1 <= level <= 5 for _, level in chain)
        lengths.add(len(chain))
    assert lengths == {1, 2, 3, 4}


def test_sample_chain__rejects_impossible_lengths() -> None:
    with pytest.raises(ValueError, match=r"1\.\.7"):
        sample_chain(np.random.default_rng(0), 8)


def test_apply_chain__replays_byte_for_byte(photo: np.ndarray) -> None:
    chain = (("jpeg", 3), ("white_noise", 2), ("gaussian_blur", 1))
    first = apply_chain(photo, chain, seed=1, ref_id="astronaut")
    assert np.array_equal(first, apply_chain(photo, chain, seed=1, ref_id="astronaut"))
    assert not np.array_equal(first, apply_chain(photo, chain, seed=2, ref_id="astronaut"))
    assert first.shape == photo.shape and first.dtype == np.uint8
    assert chain_label(chain) == "jpeg:3+white_noise:2+gaussian_blur:1"
