"""Training config validation, SGD parameter groups and the warm-up + cosine schedule."""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from perceptflow.ssl import TrainConfig, TrainSample
from perceptflow.ssl.contrique import build_contrique
from perceptflow.ssl.optim import build_sgd, build_warmup_cosine, warmup_cosine_factor


def test_config__defaults_are_the_documented_ones() -> None:
    config = TrainConfig()
    assert config.lr == pytest.approx(0.075) and config.temperature == 0.1 and config.projection_dim == 128
    assert TrainConfig.from_dict(asdict(config)) == config


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"batch_size": 1}, "train.batch_size must be >= 2, got 1"),
        ({"arch": "vgg16"}, "train.arch must be one of resnet18, resnet34, resnet50, got 'vgg16'"),
        ({"epochs": 0}, "train.epochs must be >= 1, got 0"),
        ({"epochs": 2.5}, "train.epochs must be an integer >= 1, got 2.5"),
        ({"crop_size": 16}, "train.crop_size must be >= 32, got 16"),
        ({"lr": 0.0}, r"train.lr must be in \(0.0, inf\), got 0.0"),
        ({"lr": float("nan")}, "train.lr must be a finite number, got nan"),
        ({"momentum": 1.0}, r"train.momentum must be in \[0.0, 1.0\), got 1.0"),
        ({"warmup_fraction": -0.1}, r"train.warmup_fraction must be in \[0.0, 1.0\)"),
        ({"temperature": 0}, r"train.temperature must be in \(0.0, inf\), got 0"),
        ({"num_workers": -1}, "train.num_workers must be >= 0, got -1"),
        ({"seed": True}, "train.seed must be an integer >= 0, got True"),
        ({"color_views": "yes"}, "train.color_views must be true or false, got 'yes'"),
    ],
)
def test_config__bad_values_name_the_key(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(**changes)


def test_config__unknown_keys_are_named() -> None:
    with pytest.raises(ValueError, match=r"unknown train key\(s\) \['bacth_size'\]"):
        TrainConfig.from_dict({"bacth_size": 4})


def test_sample__label_is_a_non_negative_integer(tmp_path: Path) -> None:
    assert TrainSample(str(tmp_path / "a.png"), np.int64(3)).label == 3
    with pytest.raises(ValueError, match=r"a\.png: label must be an integer >= 0, got -1"):
        TrainSample(tmp_path / "a.png", -1)


def test_sgd__no_weight_decay_on_biases_and_norms() -> None:
    method = build_contrique(TrainConfig(projection_dim=8))
    decay, no_decay = build_sgd(method, TrainConfig(weight_decay=0.01)).param_groups
    assert decay["weight_decay"] == 0.01 and no_decay["weight_decay"] == 0.0
    assert all(p.ndim > 1 for p in decay["params"]) and all(p.ndim == 1 for p in no_decay["params"])
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(method.parameters()))


def test_schedule__linear_warmup_then_cosine_to_zero() -> None:
    factors = [warmup_cosine_factor(step, warmup_steps=4, total_steps=20) for step in range(20)]
    assert factors[:4] == [0.25, 0.5, 0.75, 1.0]
    assert (
        factors[4] == 1.0
        and factors[12] == pytest.approx(0.5)
        and factors[-1] == pytest.approx(0.5 * (1 + math.cos(math.pi * 15 / 16)))
    )
    assert all(a >= b for a, b in itertools.pairwise(factors[4:])), "non-increasing after warm-up"


def test_schedule__drives_the_optimizer_per_step() -> None:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.8)
    scheduler = build_warmup_cosine(optimizer, total_steps=10, warmup_fraction=0.2)
    seen = []
    for _ in range(10):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert seen[:3] == pytest.approx([0.4, 0.8, 0.8])
    assert seen[-1] == pytest.approx(0.8 * 0.5 * (1 + math.cos(math.pi * 7 / 8)))
