"""GVSL: Geometric Visual Similarity Learning (He et al., CVPR 2023; He et al., GVSL, CVPR 2023).

Two different volumes A and B are registered from their U-Net features: the Z-matching head predicts an affine
transform from the global (bottleneck) features and a dense deformation from the local (decoder) features, and the
network learns by maximising the local normalised cross-correlation between the warped B and A while keeping the
flow smooth. An appearance-restoration head ("fundament") restores A from its corrupted copy A'.

Unlike the public code, whose ``get_affine_mat`` builds the matrix with a legacy ``torch.FloatTensor([[...]])``
constructor (values copied, autograd cut, batch size 1 only), the matrix here is built with ``torch.stack`` from
batched parameters, so the NCC gradient reaches every parameter of the affine head at any batch size.
"""

# Over 300 lines: GVSL's heads, warps and losses are one model; they are only used together.

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from perceptflow.models.volumes.unet3d import SMALL_WIDTHS, DoubleConv, UNet3D, group_count, kaiming_init
from perceptflow.ssl.method import SSLMethod

#: Bounds of the affine parameters (He et al., GVSL, CVPR 2023): rotation (rad), scale deviation from 1, shear (rad).
ROTATION_LIMIT = math.pi / 9
SCALE_LIMIT = 0.25
SHEAR_LIMIT = math.pi / 18


# --------------------------------------------------------------------------------------------------- losses


def local_ncc_map(i: Tensor, j: Tensor, window: int = 9, eps: float = 1e-5) -> Tensor:
    """Per-voxel squared local correlation ``cross^2 / (var_i * var_j + eps)`` over cubic windows.

    Window sums come from a box ``conv3d`` with zero padding (VoxelMorph convention), per channel;
    ``cross``, ``var_i`` and ``var_j`` are window sums of centred products (not divided by the window size).

    Args:
        i, j: (B, C, D, H, W) volumes of the same shape.
        window: odd side of the cubic window (GVSL: 9).
        eps: stabiliser in the denominator.

    Returns:
        (B, C, D, H, W) map in [0, 1).
    """
    if i.shape != j.shape or i.ndim != 5:
        raise ValueError(
            f"local_ncc expects two (B, C, D, H, W) volumes of one shape, got {tuple(i.shape)} and {tuple(j.shape)}"
        )
    if window < 1 or window % 2 == 0:
        raise ValueError(f"window must be a positive odd integer, got {window}")
    channels = i.shape[1]
    kernel = torch.ones(channels, 1, window, window, window, dtype=i.dtype, device=i.device)
    pad = window // 2

    def box(x: Tensor) -> Tensor:
        return F.conv3d(x, kernel, padding=pad, groups=channels)

    size = float(window**3)
    i_sum, j_sum = box(i), box(j)
    ii_sum, jj_sum, ij_sum = box(i * i), box(j * j), box(i * j)
    u_i, u_j = i_sum / size, j_sum / size
    cross = ij_sum - u_j * i_sum - u_i * j_sum + u_i * u_j * size
    var_i = ii_sum - 2 * u_i * i_sum + u_i * u_i * size
    var_j = jj_sum - 2 * u_j * j_sum + u_j * u_j * size
    return cross * cross / (var_i * var_j + eps)


def local_ncc(i: Tensor, j: Tensor, window: int = 9, eps: float = 1e-5) -> Tensor:
    """GVSL's local NCC loss: ``1 - mean(local_ncc_map(i, j))``.

    Args:
        i, j: (B, C, D, H, W) volumes of the same shape.
        window: odd side of the cubic window (GVSL: 9).
        eps: stabiliser in the denominator.

    Returns:
        Scalar loss: 0 when ``j`` is a rescaled copy of ``i`` (any sign), about 1 for unrelated volumes.
    """
    return 1 - local_ncc_map(i, j, window=window, eps=eps).mean()


def smoothness(flow: Tensor) -> Tensor:
    """Mean squared finite differences of a displacement field along D, H and W, averaged over the 3 axes.

    Args:
        flow: (B, 3, D, H, W) displacement field, each side >= 2.
    """
    if flow.ndim != 5 or min(flow.shape[2:]) < 2:
        raise ValueError(f"smoothness expects a (B, 3, D>=2, H>=2, W>=2) flow, got {tuple(flow.shape)}")
    dz = flow[:, :, 1:] - flow[:, :, :-1]
    dy = flow[:, :, :, 1:] - flow[:, :, :, :-1]
    dx = flow[:, :, :, :, 1:] - flow[:, :, :, :, :-1]
    return (dz.pow(2).mean() + dy.pow(2).mean() + dx.pow(2).mean()) / 3


def restoration_loss(restored: Tensor, target: Tensor) -> Tensor:
    """Mean squared error of the restored volume against the clean one."""
    if restored.shape != target.shape:
        raise ValueError(f"restoration_loss shapes differ: {tuple(restored.shape)} vs {tuple(target.shape)}")
    return F.mse_loss(restored, target)


# --------------------------------------------------------------------------------------------------- geometry


def affine_matrix(rotation: Tensor, scale: Tensor, translation: Tensor, shear: Tensor) -> Tensor:
    """Batched, differentiable (B, 3, 4) affine ``[shear @ scale @ Rz @ Ry @ Rx | translation]``.

    Args:
        rotation: (B, 3) angles in radians about x, y, z.
        scale: (B, 3) per-axis scale factors.
        translation: (B, 3) in normalised ``affine_grid`` coordinates.
        shear: (B, 6) shear angles in radians; the off-diagonal entries are their tangents, row-major.

    Returns:
        (B, 3, 4) matrices for `torch.nn.functional.affine_grid`; identity for zero rotation/shear/translation and
        unit scale.
    """
    batch = rotation.shape[0]
    for name, value, width in (
        ("rotation", rotation, 3),
        ("scale", scale, 3),
        ("translation", translation, 3),
        ("shear", shear, 6),
    ):
        if value.shape != (batch, width):
            raise ValueError(f"{name} must be shaped ({batch}, {width}), got {tuple(value.shape)}")
    one, zero = torch.ones_like(rotation[:, 0]), torch.zeros_like(rotation[:, 0])

    def mat(rows: Sequence[Sequence[Tensor]]) -> Tensor:
        return torch.stack([torch.stack(list(row), dim=-1) for row in rows], dim=-2)

    cx, cy, cz = torch.cos(rotation).unbind(1)
    sx, sy, sz = torch.sin(rotation).unbind(1)
    rx = mat([[one, zero, zero], [zero, cx, -sx], [zero, sx, cx]])
    ry = mat([[cy, zero, sy], [zero, one, zero], [-sy, zero, cy]])
    rz = mat([[cz, -sz, zero], [sz, cz, zero], [zero, zero, one]])
    s = torch.diag_embed(scale)
    t = torch.tan(shear).unbind(1)
    sh = mat([[one, t[0], t[1]], [t[2], one, t[3]], [t[4], t[5], one]])
    linear = sh @ s @ rz @ ry @ rx
    return torch.cat([linear, translation.unsqueeze(-1)], dim=-1)


def affine_warp(volume: Tensor, matrix: Tensor, mode: str = "bilinear") -> Tensor:
    """Resample ``volume`` (B, C, D, H, W) with ``matrix`` (B, 3, 4) via ``affine_grid``/``grid_sample``."""
    grid = F.affine_grid(matrix, list(volume.shape), align_corners=True)
    return F.grid_sample(volume, grid, mode=mode, padding_mode="zeros", align_corners=True)


def flow_warp(volume: Tensor, flow: Tensor, mode: str = "bilinear") -> Tensor:
    """Spatial transformer: sample ``volume`` at ``voxel + flow``.

    Args:
        volume: (B, C, D, H, W).
        flow: (B, 3, D, H, W) displacements in voxels, channels ordered (D, H, W).
    """
    if flow.ndim != 5 or flow.shape[1] != 3 or flow.shape[2:] != volume.shape[2:] or flow.shape[0] != volume.shape[0]:
        raise ValueError(f"flow {tuple(flow.shape)} does not match volume {tuple(volume.shape)}")
    sizes = volume.shape[2:]
    axes = [torch.arange(s, dtype=flow.dtype, device=flow.device) for s in sizes]
    base = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=0).unsqueeze(0)
    loc = base + flow
    norm = [2 * loc[:, k] / max(sizes[k] - 1, 1) - 1 for k in range(3)]
    grid = torch.stack(norm[::-1], dim=-1)  # grid_sample wants (x, y, z) = (W, H, D)
    return F.grid_sample(volume, grid, mode=mode, padding_mode="border", align_corners=True)


# --------------------------------------------------------------------------------------------------- heads


class AffineParams(NamedTuple):
    """Bounded affine parameters of a batch: rotation (B, 3), scale (B, 3), translation (B, 3), shear (B, 6)."""

    rotation: Tensor
    scale: Tensor
    translation: Tensor
    shear: Tensor


class AffineHead(nn.Module):
    """Z-matching affine head: ``[f_g(B), f_g(A)]`` -> DoubleConv -> GAP -> rotation/scale/translation/shear.

    Rotation, scale and shear are bounded to ±π/9, 1 ± 0.25 and ±π/18 with ``limit * tanh(raw)`` rather than a hard
    clamp, so that a saturated output never silences the gradient; translation is unbounded, as in GVSL.
    """

    def __init__(self, global_dim: int, hidden: int = 256) -> None:
        super().__init__()
        self.conv = DoubleConv(2 * global_dim, hidden)
        self.fc_rot = nn.Linear(hidden, 3)
        self.fc_scl = nn.Linear(hidden, 3)
        self.fc_trans = nn.Linear(hidden, 3)
        self.fc_shear = nn.Linear(hidden, 6)
        kaiming_init(self.conv)

    def forward(self, g_moving: Tensor, g_fixed: Tensor) -> AffineParams:
        """Predict the affine taking the fixed grid into the moving volume (B's features first, then A's)."""
        x = self.conv(torch.cat([g_moving, g_fixed], dim=1)).mean(dim=(2, 3, 4))
        return AffineParams(
            rotation=ROTATION_LIMIT * torch.tanh(self.fc_rot(x)),
            scale=1 + SCALE_LIMIT * torch.tanh(self.fc_scl(x)),
            translation=self.fc_trans(x),
            shear=SHEAR_LIMIT * torch.tanh(self.fc_shear(x)),
        )


class DeformableHead(nn.Module):
    """Z-matching deformable head: ``[affine-warped f_l(B), f_l(A)]`` -> DoubleConv -> Conv3d -> 3-channel flow.

    The flow convolution starts near zero (N(0, 1e-5) weights, zero bias), as in VoxelMorph.
    """

    def __init__(self, local_dim: int, hidden: int = 16) -> None:
        super().__init__()
        self.conv = DoubleConv(2 * local_dim, hidden)
        self.flow = nn.Conv3d(hidden, 3, kernel_size=3, padding=1)
        kaiming_init(self.conv)
        nn.init.normal_(self.flow.weight, std=1e-5)
        assert self.flow.bias is not None
        nn.init.zeros_(self.flow.bias)

    def forward(self, l_moving: Tensor, l_fixed: Tensor) -> Tensor:
        """(B, 3, D, H, W) displacement in voxels."""
        return self.flow(self.conv(torch.cat([l_moving, l_fixed], dim=1)))


def restoration_head(local_dim: int, hidden: int = 16, out_channels: int = 1) -> nn.Sequential:
    """GVSL's ``res_conv``: f_l(A') -> Conv3d 3x3x3 -> GroupNorm -> LeakyReLU(0.2) -> Conv3d 1x1x1 -> 1 channel."""
    head = nn.Sequential(
        nn.Conv3d(local_dim, hidden, kernel_size=3, padding=1),
        nn.GroupNorm(group_count(hidden), hidden),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv3d(hidden, out_channels, kernel_size=1),
    )
    kaiming_init(head)
    return head


# --------------------------------------------------------------------------------------------------- loss + method


class GVSLLoss(nn.Module):
    """``w_ncc * NCC(warp_BA, A) + w_mse * MSE(restored, A) + w_smooth * Smooth(flow)`` (all 1 in GVSL)."""

    def __init__(
        self, ncc_weight: float = 1.0, mse_weight: float = 1.0, smooth_weight: float = 1.0, window: int = 9
    ) -> None:
        super().__init__()
        for name, w in (("ncc_weight", ncc_weight), ("mse_weight", mse_weight), ("smooth_weight", smooth_weight)):
            if not math.isfinite(w) or w < 0:
                raise ValueError(f"{name} must be finite and >= 0, got {w}")
        if window < 1 or window % 2 == 0:
            raise ValueError(f"window must be a positive odd integer, got {window}")
        self.ncc_weight, self.mse_weight, self.smooth_weight = ncc_weight, mse_weight, smooth_weight
        self.window = window

    def terms(self, warped: Tensor, fixed: Tensor, restored: Tensor, clean: Tensor, flow: Tensor) -> dict[str, Tensor]:
        """The unweighted terms ``ncc``, ``mse``, ``smooth``."""
        return {
            "ncc": local_ncc(warped, fixed, window=self.window),
            "mse": restoration_loss(restored, clean),
            "smooth": smoothness(flow),
        }

    def forward(self, warped: Tensor, fixed: Tensor, restored: Tensor, clean: Tensor, flow: Tensor) -> Tensor:
        """Weighted sum of the three terms; volumes (B, 1, D, H, W), flow (B, 3, D, H, W)."""
        t = self.terms(warped, fixed, restored, clean, flow)
        return self.ncc_weight * t["ncc"] + self.mse_weight * t["mse"] + self.smooth_weight * t["smooth"]


class GVSLOutput(NamedTuple):
    """One forward pass: restored A (B,1,...), affine-then-flow-warped B (B,1,...), params, (B,3,4) matrix, flow."""

    restored: Tensor
    warped: Tensor
    affine: AffineParams
    matrix: Tensor
    flow: Tensor


class GVSLMethod(SSLMethod):
    """GVSL pre-training: U-Net + Z-matching (affine + deformable) + restoration head + `GVSLLoss`.

    ``training_step((a, a_corrupted, b))``: A' (appearance-corrupted A, spatially aligned with it) and B are
    encoded; A' features serve as the fixed side of the registration and feed the restoration head, as in the public
    training script. ``self.encoder`` is the U-Net, exported for feature extraction.
    """

    encoder: UNet3D  # type: ignore[assignment]

    def __init__(
        self,
        unet: UNet3D,
        affine_head: AffineHead,
        deformable_head: DeformableHead,
        restoration: nn.Module,
        loss: GVSLLoss,
    ) -> None:
        super().__init__()
        self.encoder = unet
        self.affine_head = affine_head
        self.deformable_head = deformable_head
        self.restoration = restoration
        self.loss = loss

    def register(self, fixed: Tensor, moving: Tensor) -> GVSLOutput:
        """Restore ``fixed`` and register ``moving`` onto it; both (B, 1, D, H, W), multiples of 2**depth."""
        if fixed.shape != moving.shape:
            raise ValueError(f"GVSL needs A and B of one shape, got {tuple(fixed.shape)} and {tuple(moving.shape)}")
        g_fixed, l_fixed = self.encoder(fixed)
        g_moving, l_moving = self.encoder(moving)
        params = self.affine_head(g_moving, g_fixed)
        matrix = affine_matrix(*params)
        flow = self.deformable_head(affine_warp(l_moving, matrix), l_fixed)
        warped = flow_warp(affine_warp(moving, matrix), flow)
        return GVSLOutput(self.restoration(l_fixed), warped, params, matrix, flow)

    def training_step(self, batch: Sequence[Any]) -> Tensor:
        """Batch ``(a, a_corrupted, b)``, each (B, 1, D, H, W) -> scalar loss."""
        if len(batch) != 3:
            raise ValueError(f"GVSL batches are (a, a_corrupted, b), got {len(batch)} items")
        a, a_corrupted, b = batch
        if a.shape != a_corrupted.shape:
            raise ValueError(f"a {tuple(a.shape)} and a_corrupted {tuple(a_corrupted.shape)} differ in shape")
        out = self.register(a_corrupted, b)
        return self.loss(out.warped, a, out.restored, a, out.flow)


def build_gvsl(
    widths: Sequence[int] = SMALL_WIDTHS,
    in_channels: int = 1,
    affine_hidden: int | None = None,
    deform_hidden: int = 16,
    restore_hidden: int = 16,
    ncc_weight: float = 1.0,
    mse_weight: float = 1.0,
    smooth_weight: float = 1.0,
    window: int = 9,
) -> GVSLMethod:
    """A randomly initialised `GVSLMethod`; ``affine_hidden`` defaults to ``widths[-1] // 2`` (256 at paper size)."""
    unet = UNet3D(in_channels=in_channels, widths=widths)
    hidden = affine_hidden if affine_hidden is not None else max(1, unet.global_dim // 2)
    return GVSLMethod(
        unet=unet,
        affine_head=AffineHead(unet.global_dim, hidden=hidden),
        deformable_head=DeformableHead(unet.local_dim, hidden=deform_hidden),
        restoration=restoration_head(unet.local_dim, hidden=restore_hidden, out_channels=in_channels),
        loss=GVSLLoss(ncc_weight, mse_weight, smooth_weight, window=window),
    )
