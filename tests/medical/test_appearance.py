"""GVSL's Models-Genesis appearance corruption and the 3D crop helpers: values, shapes, seeding."""

from __future__ import annotations

import numpy as np

from perceptflow.ssl.volumes.appearance import (
    AppearanceSettings,
    bezier_intensity,
    corrupt_appearance,
    inpaint_noise,
    local_shuffle,
)
from perceptflow.ssl.volumes.views import random_crop, random_rotate_scale, rotation_matrix


def volume(seed: int = 0, size: int = 20) -> np.ndarray:
    return np.random.default_rng(seed).random((size, size, size), dtype=np.float32)


def test_local_shuffle__permutes_within_blocks_only() -> None:
    v = volume()
    out = local_shuffle(v, np.random.default_rng(1))
    assert out.dtype == np.float32 and out.shape == v.shape
    np.testing.assert_array_equal(np.sort(out.ravel()), np.sort(v.ravel()))
    assert 0.2 < (out != v).mean() < 0.8
    np.testing.assert_array_equal(out, local_shuffle(v, np.random.default_rng(1)))


def test_bezier_intensity__monotone_map_of_unit_interval() -> None:
    ramp = np.linspace(-0.5, 1.5, 64, dtype=np.float32).reshape(4, 4, 4)
    for seed in range(6):
        out = bezier_intensity(ramp, np.random.default_rng(seed)).ravel()
        steps = np.diff(out)
        assert out.min() >= 0 and out.max() <= 1
        assert (steps >= -1e-6).all() or (steps <= 1e-6).all(), seed
        assert {round(float(out[0]), 5), round(float(out[-1]), 5)} == {0.0, 1.0}


def test_inpaint_noise__changes_cuboids_of_bounded_size() -> None:
    v = np.full((20, 20, 20), 5.0, dtype=np.float32)
    out = inpaint_noise(v, np.random.default_rng(0), max_cuboids=1)
    changed = np.argwhere(out != v)
    extent = changed.max(axis=0) - changed.min(axis=0) + 1
    assert (extent >= 2).all() and (extent <= 4).all() and out[out != v].max() < 1.0
    assert (out != v).sum() == np.prod(extent)


def test_corrupt_appearance__seeded_and_switchable() -> None:
    v = volume()
    a = corrupt_appearance(v, np.random.default_rng(3))
    np.testing.assert_array_equal(a, corrupt_appearance(v, np.random.default_rng(3)))
    assert not np.array_equal(a, corrupt_appearance(v, np.random.default_rng(4)))
    off = AppearanceSettings(shuffle_p=0.0, intensity_p=0.0, inpaint_p=0.0)
    np.testing.assert_array_equal(corrupt_appearance(v, np.random.default_rng(3), off), v)


def test_random_crop__pads_small_axes_and_stays_inside() -> None:
    v = np.arange(10 * 20 * 30, dtype=np.float32).reshape(10, 20, 30) + 1
    crop = random_crop(v, 16, np.random.default_rng(0))
    assert crop.shape == (16, 16, 16)
    assert (crop[:3] == 0).all() and (crop[13:] == 0).all() and (crop[3:13] > 0).all()


def test_rotate_scale__rotation_is_orthonormal_and_identity_at_zero() -> None:
    r = rotation_matrix(np.array([0.3, -0.2, 0.5]))
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
    v = volume(size=12)
    same = random_rotate_scale(v, np.random.default_rng(0), max_degrees=0.0, scale=(1.0, 1.0))
    np.testing.assert_allclose(same, v, atol=1e-5)
    moved = random_rotate_scale(v, np.random.default_rng(0))
    assert moved.shape == v.shape and not np.allclose(moved, v)
