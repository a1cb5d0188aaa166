"""Content-separated splits: disjoint by group, covering, sized, deterministic, JSON round trip."""

import json

import numpy as np
import pytest

from perceptflow.regress import Split, content_splits, group_counts, splits_from_json, splits_to_json


def make_groups(n_groups: int, per_group: int = 5) -> list[str]:
    rng = np.random.default_rng(0)
    groups = [f"ref{g:02d}" for g in range(n_groups) for _ in range(per_group)]
    return [groups[i] for i in rng.permutation(len(groups))]  # rows of one group are not contiguous


def groups_of(split: Split, groups: list[str], subset: str) -> set[str]:
    return {groups[i] for i in split.subset(subset)}


@pytest.mark.parametrize(
    ("n_groups", "expected"), [(20, (14, 2, 4)), (8, (5, 1, 2)), (81, (57, 8, 16)), (3, (1, 1, 1))]
)
def test_group_counts__default_fractions(n_groups, expected):
    assert group_counts(n_groups, (0.7, 0.1, 0.2)) == expected


def test_group_counts__minimum_one_group_per_subset():
    assert group_counts(3, (0.1, 0.1, 0.8)) == (1, 1, 1)
    assert group_counts(4, (0.96, 0.02, 0.02)) == (2, 1, 1)


@pytest.mark.parametrize("n_groups", [20, 8])
def test_content_splits__disjoint_covering_and_sized(n_groups):
    groups = make_groups(n_groups)
    expected = group_counts(n_groups, (0.7, 0.1, 0.2))
    for split in content_splits(groups, n_splits=10, seed=3):
        parts = [groups_of(split, groups, name) for name in ("train", "val", "test")]
        assert tuple(len(p) for p in parts) == expected
        assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
        rows = np.concatenate([split.train, split.val, split.test])
        assert np.array_equal(np.sort(rows), np.arange(len(groups)))  # every row exactly once
        for name in ("train", "val", "test"):
            indices = split.subset(name)
            assert indices.dtype == np.int64 and np.all(np.diff(indices) > 0)


def test_content_splits__deterministic_in_seed_and_splits_differ():
    groups = make_groups(20)
    first, again = content_splits(groups, 10, seed=7), content_splits(groups, 10, seed=7)
    other = content_splits(groups, 10, seed=8)
    assert first == again  # Split equality compares every index array
    assert any(not np.array_equal(a.test, b.test) for a, b in zip(first, other, strict=True))
    keys = {(tuple(s.test), tuple(s.val)) for s in first}
    assert len(keys) == 10


def test_content_splits__exhausts_all_assignments_of_three_groups():
    groups = ["a", "a", "b", "c", "c", "c"]
    splits = content_splits(groups, 6, seed=0)
    assert len({(tuple(s.test), tuple(s.val)) for s in splits}) == 6  # 3! distinct assignments
    assert len(content_splits(groups, 9, seed=0)) == 9  # more splits than assignments: repeats allowed


def test_content_splits__fewer_than_three_groups_raises():
    with pytest.raises(ValueError, match=r"at least 3 groups.*got 2"):
        content_splits(["a", "a", "b"], 5)


@pytest.mark.parametrize("fractions", [(0.7, 0.2, 0.2), (0.8, 0.0, 0.2), (0.7, 0.1)])
def test_content_splits__bad_fractions_raise(fractions):
    with pytest.raises(ValueError, match="fractions"):
        content_splits(make_groups(10), 2, fractions)


def test_splits_json__round_trip_with_group_names(tmp_path):
    groups = make_groups(8)
    splits = content_splits(groups, 3, seed=1)
    path = tmp_path / "splits.json"
    splits_to_json(splits, groups, path)
    loaded = splits_from_json(path)
    assert loaded == splits and loaded[0] != loaded[1]
    payload = json.loads(path.read_text())
    assert payload["splits"][0]["test"]["groups"] == sorted(groups_of(splits[0], groups, "test"))


def test_splits_from_json__bad_file_names_it(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"splits": [{"index": 0, "train": {}}]}')
    with pytest.raises(ValueError, match=r"broken\.json"):
        splits_from_json(path)
