"""Metric files over a seeded random-init resnet18 (no training: the file format and the math do not need it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from metric_support import smooth_image
from PIL import Image

from perceptflow.metric import metric_payload, save_metric_file
from perceptflow.models import build_encoder


@pytest.fixture(scope="session")
def encoder() -> torch.nn.Module:
    return build_encoder("resnet18", seed=0)


@pytest.fixture(scope="session")
def fr_file(tmp_path_factory: pytest.TempPathFactory, encoder: torch.nn.Module) -> Path:
    path = tmp_path_factory.mktemp("metric") / "fr.pt"
    save_metric_file(metric_payload(encoder, method="random", provenance={"test": True}), path)
    return path


@pytest.fixture(scope="session")
def pooled_file(tmp_path_factory: pytest.TempPathFactory, encoder: torch.nn.Module) -> Path:
    path = tmp_path_factory.mktemp("metric") / "pooled.pt"
    save_metric_file(metric_payload(encoder, method="random", kind="pooled"), path)
    return path


@pytest.fixture(scope="session")
def image_pairs(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], list[Path]]:
    """Three references, each with a noisy and a blurred copy (64x64 PNGs)."""
    root = tmp_path_factory.mktemp("pairs")
    rng = np.random.default_rng(0)
    refs, dists = [], []
    for index in range(3):
        ref = smooth_image(rng)
        ref_path = root / f"ref{index}.png"
        Image.fromarray(ref).save(ref_path)
        noisy = np.clip(ref + rng.normal(0, 25, ref.shape), 0, 255).astype(np.uint8)
        for name, image in (
            ("noisy", noisy),
            ("blur", np.asarray(Image.fromarray(ref).resize((16, 16)).resize((64, 64)))),
        ):
            path = root / f"ref{index}_{name}.png"
            Image.fromarray(image).save(path)
            refs.append(ref_path)
            dists.append(path)
    return refs, dists
