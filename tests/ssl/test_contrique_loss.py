"""CONTRIQUE's multi-class NT-Xent against a hand-computed case and a naive loop (Madhusudana et al., 2022)."""

from __future__ import annotations

import math

import pytest
import torch

from perceptflow.ssl import ContriqueLoss, multiclass_nt_xent


def naive_loss(z: torch.Tensor, labels: torch.Tensor, temperature: float) -> float:
    """The formula of Madhusudana et al., CONTRIQUE, IEEE TIP 2022, one row and one pair at a time, in float64."""
    z = z.double() / z.double().norm(dim=1, keepdim=True)
    y = labels.double()
    total = 0.0
    for i in range(len(z)):
        others = [k for k in range(len(z)) if k != i]
        s = {k: float(z[i] @ z[k]) / temperature for k in others}
        p = {j: float(y[i] @ y[j]) for j in others}
        log_partition = math.log(sum(math.exp(s[k]) for k in others))
        total += log_partition - sum(p[j] * s[j] for j in others) / sum(p.values())
    return total / len(z)


def test_loss__hand_computed_case_with_multi_hot_and_single_positive() -> None:
    # Rows 0 and 1 share class A; row 2 is class B; row 3 is A and B (multi-hot).
    # Row 2's single positive is row 3; row 3's positives are rows 0, 1 (weight 1 each) and 2 (weight 1).
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, 2.0]])  # row 3 has norm 2
    labels = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    # Cosines: c01 = 0, c02 = -1, c03 = 0, c12 = 0, c13 = 1, c23 = 0; temperature 0.5 doubles them.
    e = math.exp
    row0 = math.log(e(0) + e(-2) + e(0)) - (0 + 0) / 2  # positives 1, 3
    row1 = math.log(e(0) + e(0) + e(2)) - (0 + 2) / 2  # positives 0, 3
    row2 = math.log(e(-2) + e(0) + e(0)) - 0 / 1  # single positive: 3
    row3 = math.log(e(0) + e(2) + e(0)) - (0 + 2 + 0) / 3  # positives 0, 1, 2
    expected = (row0 + row1 + row2 + row3) / 4
    got = multiclass_nt_xent(z, labels, temperature=0.5)
    assert got.item() == pytest.approx(expected, rel=1e-6), "hand-computed value (approximate, float32)"


def test_loss__multi_hot_weights_count_shared_classes() -> None:
    # y0 . y1 = 2 (two shared classes), y0 . y2 = y1 . y2 = 1: pair (0, 1) weighs twice as much.
    z = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    labels = torch.tensor([[1.0, 1.0], [1.0, 1.0], [1.0, 0.0]])
    e = math.exp  # cosines: c01 = 0.6, c02 = 0, c12 = 0.8; temperature 1
    row0 = math.log(e(0.6) + e(0.0)) - (2 * 0.6 + 1 * 0.0) / 3
    row1 = math.log(e(0.6) + e(0.8)) - (2 * 0.6 + 1 * 0.8) / 3
    row2 = math.log(e(0.0) + e(0.8)) - (1 * 0.0 + 1 * 0.8) / 2
    got = multiclass_nt_xent(z, labels, temperature=1.0)
    assert got.item() == pytest.approx((row0 + row1 + row2) / 3, rel=1e-6), "hand-computed (approximate)"


@pytest.mark.parametrize("temperature", [0.1, 0.5, 2.0])
def test_loss__matches_naive_loop_on_random_multi_hot_batch(temperature: float) -> None:
    generator = torch.Generator().manual_seed(0)
    z = torch.randn(24, 16, generator=generator)
    labels = (torch.rand(24, 5, generator=generator) < 0.3).float()
    labels[:, 0] = 1.0  # every row shares class 0, so every row has positives
    labels[3] = torch.tensor([0.0, 0.0, 0.0, 0.0, 1.0])
    labels[7] = torch.tensor([0.0, 0.0, 0.0, 0.0, 1.0])  # rows 3 and 7: each the other's only positive
    got = multiclass_nt_xent(z, labels, temperature)
    assert got.item() == pytest.approx(naive_loss(z, labels, temperature), rel=1e-5)


def test_loss__invariant_to_row_scale_rotation_permutation_and_empty_classes() -> None:
    generator = torch.Generator().manual_seed(1)
    z = torch.randn(16, 8, generator=generator)
    labels = torch.eye(4).repeat_interleave(4, dim=0)
    base = multiclass_nt_xent(z, labels, 0.1)
    scale = torch.rand(16, 1, generator=generator) * 10 + 0.1
    rotation, _ = torch.linalg.qr(torch.randn(8, 8, generator=generator))
    order = torch.randperm(16, generator=generator)
    padded = torch.cat([labels, torch.zeros(16, 3)], dim=1)
    torch.testing.assert_close(multiclass_nt_xent(z * scale, labels, 0.1), base)
    torch.testing.assert_close(multiclass_nt_xent(z @ rotation, labels, 0.1), base)
    torch.testing.assert_close(multiclass_nt_xent(z[order], labels[order], 0.1), base)
    torch.testing.assert_close(multiclass_nt_xent(z, padded, 0.1), base)


def test_loss__perfect_clusters_reach_log_of_positive_count() -> None:
    # Two classes of 3 identical unit vectors, classes orthogonal: loss -> log(#positives) as tau -> 0.
    z = torch.tensor([[1.0, 0.0]] * 3 + [[0.0, 1.0]] * 3)
    labels = torch.eye(2).repeat_interleave(3, dim=0)
    assert multiclass_nt_xent(z, labels, 0.01).item() == pytest.approx(math.log(2), abs=1e-4)


def test_loss__is_float32_under_autocast_and_has_gradient() -> None:
    z = torch.randn(8, 4, requires_grad=True)
    labels = torch.eye(2).repeat_interleave(4, dim=0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = multiclass_nt_xent(z, labels, 0.1)
    loss.backward()
    assert loss.dtype == torch.float32
    assert z.grad is not None and torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0


def test_loss__row_without_positive_raises_and_explains() -> None:
    z = torch.randn(3, 4)
    labels = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])  # row 2's class appears once
    with pytest.raises(ValueError, match=r"rows \[2\] have no positive"):
        multiclass_nt_xent(z, labels, 0.1)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 0.0]]), r"at least one class; rows \[2\]"),
        (torch.tensor([[1.0, -1.0], [1.0, 0.0], [1.0, 0.0]]), "non-negative"),
        (torch.ones(2, 2), r"labels must be \(N, n_classes\) with N = 3"),
        (torch.ones(3), r"labels must be \(N, n_classes\)"),
    ],
)
def test_loss__bad_labels_raise(labels: torch.Tensor, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        multiclass_nt_xent(torch.randn(3, 4), labels, 0.1)


@pytest.mark.parametrize("temperature", [0.0, -0.1])
def test_loss__temperature_must_be_positive(temperature: float) -> None:
    with pytest.raises(ValueError, match="temperature must be > 0"):
        multiclass_nt_xent(torch.randn(4, 2), torch.ones(4, 1), temperature)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        ContriqueLoss(temperature)


def test_loss_module__equals_function_without_gathering() -> None:
    z, labels = torch.randn(8, 4), torch.eye(2).repeat_interleave(4, dim=0)
    loss = ContriqueLoss(0.2)
    assert not loss.gather_distributed, "gathering across ranks is opt-in"
    torch.testing.assert_close(loss(z, labels), multiclass_nt_xent(z, labels, 0.2))
