"""GVSL: 3D U-Net shapes, local NCC and smoothness by hand, differentiable affine, gradients into the affine head."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from perceptflow.models.volumes.unet3d import UNet3D
from perceptflow.ssl.method import SSLMethod
from perceptflow.ssl.volumes.gvsl import (
    ROTATION_LIMIT,
    SCALE_LIMIT,
    SHEAR_LIMIT,
    AffineHead,
    GVSLLoss,
    affine_matrix,
    affine_warp,
    build_gvsl,
    flow_warp,
    local_ncc,
    local_ncc_map,
    smoothness,
)

WIDTHS = (4, 8, 16)  # depth 2: sides must be multiples of 4


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _identity_params(batch: int) -> tuple[torch.Tensor, ...]:
    return torch.zeros(batch, 3), torch.ones(batch, 3), torch.zeros(batch, 3), torch.zeros(batch, 6)


# ---------------------------------------------------------------------------------------------- local NCC


def test_local_ncc_identical_is_zero() -> None:
    x = torch.rand(2, 1, 12, 12, 12, generator=_gen())
    assert local_ncc(x, x).item() == pytest.approx(0.0, abs=1e-4)


@pytest.mark.parametrize("scale", [2.5, -0.7])
def test_local_ncc_scaled_copy_is_zero(scale: float) -> None:
    """Squared local correlation: any linear rescaling (either sign) of the volume matches perfectly."""
    x = torch.rand(1, 1, 12, 12, 12, generator=_gen(1))
    assert local_ncc(x, scale * x).item() == pytest.approx(0.0, abs=1e-4)


def test_local_ncc_affine_intensity_interior_is_zero() -> None:
    """With an offset, zero padding only perturbs border windows: interior windows correlate perfectly."""
    x = torch.rand(1, 1, 16, 16, 16, generator=_gen(2), dtype=torch.float64)  # float64: sums of squares cancel
    cc = local_ncc_map(x, 3.0 * x + 5.0, window=9)
    ones = torch.ones(1, 1, 8, 8, 8, dtype=torch.float64)
    torch.testing.assert_close(cc[..., 4:-4, 4:-4, 4:-4], ones, atol=1e-5, rtol=0)
    assert local_ncc(x, 3.0 * x + 5.0).item() < 0.5


def test_local_ncc_independent_noise_is_about_one() -> None:
    a = torch.randn(1, 1, 24, 24, 24, generator=_gen(3))
    b = torch.randn(1, 1, 24, 24, 24, generator=_gen(4))
    loss = local_ncc(a, b).item()
    assert 0.97 < loss <= 1.0


def _naive_local_ncc(i: np.ndarray, j: np.ndarray, window: int, eps: float = 1e-5) -> float:
    pad = window // 2
    ip, jp = np.pad(i, pad), np.pad(j, pad)  # zero padding
    n = window**3
    values = []
    for z in range(i.shape[0]):
        for y in range(i.shape[1]):
            for x in range(i.shape[2]):
                wi = ip[z : z + window, y : y + window, x : x + window]
                wj = jp[z : z + window, y : y + window, x : x + window]
                mi, mj = wi.sum() / n, wj.sum() / n
                cross = ((wi - mi) * (wj - mj)).sum()
                var_i, var_j = ((wi - mi) ** 2).sum(), ((wj - mj) ** 2).sum()
                values.append(cross**2 / (var_i * var_j + eps))
    return 1.0 - float(np.mean(values))


def test_local_ncc_matches_naive_loop() -> None:
    rng = np.random.default_rng(5)
    i = rng.random((4, 5, 3))
    j = 0.5 * i + rng.random((4, 5, 3))
    expected = _naive_local_ncc(i, j, window=3)
    got = local_ncc(torch.from_numpy(i)[None, None], torch.from_numpy(j)[None, None], window=3).item()
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert 0.0 < expected < 1.0


def test_local_ncc_rejects_bad_inputs() -> None:
    x = torch.rand(1, 1, 4, 4, 4)
    with pytest.raises(ValueError, match="window"):
        local_ncc(x, x, window=4)
    with pytest.raises(ValueError, match="one shape"):
        local_ncc(x, x[..., :2])


# ---------------------------------------------------------------------------------------------- smoothness


def test_smoothness_constant_flow_is_zero() -> None:
    assert smoothness(torch.full((2, 3, 5, 6, 7), 3.2)).item() == 0.0


def test_smoothness_linear_ramp() -> None:
    """A ramp of slope c along D only: differences c along D, 0 along H and W -> c^2 / 3."""
    c = 0.5
    ramp = c * torch.arange(6, dtype=torch.float64).view(1, 1, 6, 1, 1).expand(2, 3, 6, 4, 5)
    assert smoothness(ramp).item() == pytest.approx(c**2 / 3)


# ---------------------------------------------------------------------------------------------- geometry


def test_identity_params_give_identity_matrix_and_warp() -> None:
    matrix = affine_matrix(*_identity_params(2))
    expected = torch.cat([torch.eye(3), torch.zeros(3, 1)], dim=1).expand(2, 3, 4)
    torch.testing.assert_close(matrix, expected)
    x = torch.rand(2, 1, 6, 7, 8, generator=_gen(6))
    torch.testing.assert_close(affine_warp(x, matrix), x, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(flow_warp(x, torch.zeros(2, 3, 6, 7, 8)), x, atol=1e-5, rtol=1e-5)


def test_affine_matrix_rotation_entries_and_batching() -> None:
    rot, scale, trans, shear = _identity_params(2)
    rot[1, 2] = 0.3  # about z, second item only
    trans[1] = torch.tensor([0.1, -0.2, 0.3])
    m = affine_matrix(rot, scale, trans, shear)
    torch.testing.assert_close(m[0, :, :3], torch.eye(3))
    torch.testing.assert_close(m[1, 0, :2], torch.tensor([math.cos(0.3), -math.sin(0.3)]))
    torch.testing.assert_close(m[1, :, 3], torch.tensor([0.1, -0.2, 0.3]))


def test_flow_warp_integer_shift() -> None:
    x = torch.rand(1, 1, 4, 5, 6, generator=_gen(7))
    flow = torch.zeros(1, 3, 4, 5, 6)
    flow[:, 2] = 1.0  # sample one voxel further along W
    out = flow_warp(x, flow)
    torch.testing.assert_close(out[..., :-1], x[..., 1:], atol=1e-5, rtol=1e-5)


def test_affine_matrix_is_differentiable() -> None:
    params = [torch.randn(2, n, dtype=torch.float64, generator=_gen(8), requires_grad=True) * 0.1 for n in (3, 3, 3, 6)]
    params = [p.detach().requires_grad_() for p in params]
    assert torch.autograd.gradcheck(affine_matrix, tuple(params))


# ---------------------------------------------------------------------------------------------- U-Net


def test_unet_shapes() -> None:
    net = UNet3D(widths=WIDTHS)
    f_global, f_local = net(torch.rand(2, 1, 8, 12, 16, generator=_gen(9)))
    assert f_global.shape == (2, 16, 2, 3, 4)
    assert f_local.shape == (2, 4, 8, 12, 16)
    assert (net.multiple, net.global_dim, net.local_dim) == (4, 16, 4)


def test_unet_rejects_bad_shapes() -> None:
    net = UNet3D(widths=WIDTHS)
    with pytest.raises(ValueError, match=r"multiples of 4.*\(1, 1, 8, 10, 8\)"):
        net(torch.rand(1, 1, 8, 10, 8))
    with pytest.raises(ValueError, match=r"\(1, 8, 8\)"):
        net(torch.rand(1, 8, 8))
    with pytest.raises(ValueError, match="widths"):
        UNet3D(widths=(8,))


# ---------------------------------------------------------------------------------------------- heads + method


def test_affine_head_respects_clamps() -> None:
    head = AffineHead(global_dim=4, hidden=8)
    for fc, sign in ((head.fc_rot, 1), (head.fc_scl, -1), (head.fc_shear, 1)):
        torch.nn.init.constant_(fc.bias, sign * 1e3)
    g = torch.randn(3, 4, 2, 2, 2, generator=_gen(10))
    p = head(g, g)
    assert p.rotation.shape == (3, 3) and p.scale.shape == (3, 3)
    assert p.translation.shape == (3, 3) and p.shear.shape == (3, 6)
    assert p.rotation.abs().max().item() <= ROTATION_LIMIT + 1e-6
    assert p.rotation.min().item() > ROTATION_LIMIT * 0.99  # saturated at the bound
    assert p.scale.min().item() >= 1 - SCALE_LIMIT - 1e-6
    assert p.scale.max().item() <= 1 + SCALE_LIMIT + 1e-6
    assert p.shear.abs().max().item() <= SHEAR_LIMIT + 1e-6


def test_ncc_gradient_reaches_every_affine_head_parameter_at_batch_2() -> None:
    torch.manual_seed(0)
    model = build_gvsl(widths=WIDTHS)
    a = torch.rand(2, 1, 16, 16, 16, generator=_gen(11))
    b = torch.rand(2, 1, 16, 16, 16, generator=_gen(12))
    out = model.register(a, b)
    local_ncc(out.warped, a).backward()
    names = [name for name, _ in model.affine_head.named_parameters()]
    for prefix in ("conv.", "fc_rot.", "fc_scl.", "fc_trans.", "fc_shear."):
        assert any(n.startswith(prefix) for n in names), prefix
    for name, param in model.affine_head.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum().item() > 0, name


def test_gvsl_method_outputs_and_training_step() -> None:
    torch.manual_seed(1)
    model = build_gvsl(widths=WIDTHS, smooth_weight=0.5)
    assert isinstance(model, SSLMethod) and isinstance(model.encoder, UNet3D)
    a = torch.rand(2, 1, 16, 16, 16, generator=_gen(13))
    a_corrupted = a + 0.1 * torch.randn(2, 1, 16, 16, 16, generator=_gen(14))
    b = torch.rand(2, 1, 16, 16, 16, generator=_gen(15))
    out = model.register(a_corrupted, b)
    assert out.restored.shape == a.shape and out.warped.shape == a.shape
    assert out.matrix.shape == (2, 3, 4) and out.flow.shape == (2, 3, 16, 16, 16)
    loss = model.training_step((a, a_corrupted, b))
    assert loss.ndim == 0 and torch.isfinite(loss)
    terms = model.loss.terms(out.warped, a, out.restored, a, out.flow)
    assert loss.item() == pytest.approx((terms["ncc"] + terms["mse"] + 0.5 * terms["smooth"]).item(), rel=1e-5)
    loss.backward()
    assert all(p.grad is not None for p in model.encoder.parameters())
    with pytest.raises(ValueError, match="a_corrupted"):
        model.training_step(
            (
                a,
                a_corrupted,
            )
        )


def test_gvsl_loss_validates_options() -> None:
    with pytest.raises(ValueError, match="mse_weight"):
        GVSLLoss(mse_weight=-1.0)
    with pytest.raises(ValueError, match="window"):
        GVSLLoss(window=8)
