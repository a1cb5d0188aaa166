"""`as_loss`: optimising an image toward its reference with the metric alone raises its PSNR."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from metric_support import smooth_image
from torch.nn.functional import avg_pool2d

from perceptflow.metric import load_metric


def psnr(x: torch.Tensor, y: torch.Tensor) -> float:
    return float(10 * torch.log10(1.0 / torch.mean((x - y) ** 2)))


def test_loss_alone_restores_a_blurred_image_grads_on_input_none_on_weights(fr_file: Path) -> None:
    metric = load_metric(fr_file)
    ref = torch.from_numpy(smooth_image(np.random.default_rng(3))).permute(2, 0, 1)[None].float() / 255.0
    blurred = avg_pool2d(ref, 5, stride=1, padding=2, count_include_pad=False)
    image = blurred.clone().requires_grad_(True)
    loss_fn = metric.as_loss()
    optimiser = torch.optim.Adam([image], lr=0.002)
    before = psnr(blurred, ref)
    first = None
    for _ in range(40):
        optimiser.zero_grad()
        loss = loss_fn(image, ref)
        loss.backward()
        first = float(loss.detach()) if first is None else first
        optimiser.step()
        with torch.no_grad():
            image.clamp_(0, 1)
    assert image.grad is not None and torch.isfinite(image.grad).all()
    assert all(param.grad is None and not param.requires_grad for param in metric.parameters())
    assert float(loss_fn(image, ref).detach()) < first / 2
    assert psnr(image.detach(), ref) > before + 0.2, (before, psnr(image.detach(), ref))
