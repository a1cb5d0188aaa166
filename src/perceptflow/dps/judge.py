"""The LPIPS "large" judge network that reads a pair of distances as a 2AFC probability (Zhang et al., CVPR 2018)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

#: Small constant of the judge's ratio features (as LPIPS).
_RATIO_EPS = 0.1


class JudgeNet(nn.Module):
    """LPIPS's "large" judge: (d0, d1) -> probability that p1 is judged closer to the reference.

    Features ``[d0, d1, d0 - d1, d0 / (d1 + 0.1), d1 / (d0 + 0.1)]`` -> 1x1 conv 5->32 -> LeakyReLU(0.2) ->
    32->32 -> LeakyReLU(0.2) -> 32->1 -> sigmoid.
    """

    def __init__(self, hidden: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(5, hidden, 1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(hidden, hidden, 1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(hidden, 1, 1),
            nn.Sigmoid(),
        )

    def forward(self, d0: Tensor, d1: Tensor) -> Tensor:
        """(B,) probabilities in (0, 1) from (B,) distances."""
        d0, d1 = d0.reshape(-1), d1.reshape(-1)
        x = torch.stack([d0, d1, d0 - d1, d0 / (d1 + _RATIO_EPS), d1 / (d0 + _RATIO_EPS)], dim=1)
        return self.net(x[:, :, None, None]).reshape(-1)
