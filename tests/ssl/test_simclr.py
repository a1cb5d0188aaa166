"""SimCLR (CSR setting): NT-Xent against hand-computed values, seeded views, gradient flow, a tiny run."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from perceptflow.models import load_encoder
from perceptflow.ssl import METHODS, TrainConfig, TrainSample, nt_xent, train_method
from perceptflow.ssl.simclr import AugmentedPairs, build_simclr


def _loop_nt_xent(z_a: torch.Tensor, z_b: torch.Tensor, tau: float) -> float:
    z = torch.nn.functional.normalize(torch.cat([z_a, z_b]).double(), dim=1)
    n, b = len(z), len(z_a)
    total = 0.0
    for i in range(n):
        positive = (i + b) % n
        others = [math.exp(float(z[i] @ z[k]) / tau) for k in range(n) if k != i]
        total += math.log(sum(others)) - float(z[i] @ z[positive]) / tau
    return total / n


def test_nt_xent__hand_computed_orthogonal_case() -> None:
    # views (1,0),(0,1),(1,0),(0,1), tau 1: each row sees exp(0) + exp(1) + exp(0), its positive has s = 1
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert nt_xent(z, z.clone(), 1.0).item() == pytest.approx(math.log(2 + math.e) - 1, abs=1e-6)


def test_nt_xent__matches_explicit_loop_and_scale_invariance() -> None:
    generator = torch.Generator().manual_seed(3)
    z_a, z_b = torch.randn(5, 7, generator=generator), torch.randn(5, 7, generator=generator)
    expected = _loop_nt_xent(z_a, z_b, 0.2)
    assert nt_xent(z_a, z_b, 0.2).item() == pytest.approx(expected, rel=1e-5)
    assert nt_xent(3 * z_a, 0.5 * z_b, 0.2).item() == pytest.approx(expected, rel=1e-5)


def test_nt_xent__rejects_mismatched_views() -> None:
    with pytest.raises(ValueError, match="z_a and z_b"):
        nt_xent(torch.randn(4, 3), torch.randn(3, 3), 0.1)


def test_views__same_seed_same_views_other_seed_other_views(tiny_samples: list[TrainSample]) -> None:
    dataset = AugmentedPairs(tiny_samples, crop_size=32)
    first, again, other = dataset[(5, 123)], dataset[(5, 123)], dataset[(5, 124)]
    assert first[0].shape == (3, 32, 32) and first[0].dtype == torch.uint8
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0], first[1])  # two different augmentations of one image
    assert not torch.equal(first[0], other[0])
    state = torch.get_rng_state()
    dataset[(1, 7)]
    assert torch.equal(state, torch.get_rng_state())  # the global RNG is left alone


def test_simclr__gradient_reaches_encoder_and_projector() -> None:
    method = build_simclr(TrainConfig(batch_size=4, crop_size=32, projection_dim=16))
    views = torch.randint(0, 256, (2, 4, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    method.training_step((views[0], views[1])).backward()
    missing = [name for name, p in method.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []
    assert METHODS["simclr"].name == "simclr"


def test_simclr__tiny_run_loss_falls_and_exports_encoder(tiny_samples: list[TrainSample], tmp_path: Path) -> None:
    config = TrainConfig(epochs=4, batch_size=8, crop_size=32, lr=0.3, seed=0)
    history = train_method(
        METHODS["simclr"],
        tiny_samples,
        config,
        checkpoint_dir=tmp_path / "ckpt",
        encoder_out=tmp_path / "encoder.pt",
        device=torch.device("cpu"),
        threads=1,
    )
    losses = [row["loss"] for row in history]
    assert [row["epoch"] for row in history] == [1, 2, 3, 4]
    assert losses[-1] < losses[0], losses
    encoder, payload = load_encoder(tmp_path / "encoder.pt")
    assert payload["method"] == "simclr" and encoder.feature_dim == 512
