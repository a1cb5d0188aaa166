"""SGD with CONTRIQUE's "warmup-anneal" schedule: linear warm-up, then per-iteration cosine decay to zero."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from perceptflow.ssl.config import TrainConfig


def build_sgd(module: nn.Module, config: TrainConfig) -> torch.optim.SGD:
    """SGD over the trainable parameters; weight decay on weight matrices and kernels only.

    Biases and normalisation parameters (every parameter with fewer than two dimensions) get no decay.
    """
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for parameter in module.parameters():
        if parameter.requires_grad:
            (decay if parameter.ndim > 1 else no_decay).append(parameter)
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum)


def warmup_cosine_factor(step: int, *, warmup_steps: int, total_steps: int) -> float:
    """LR multiplier at ``step`` (0-based): ``(step + 1) / warmup_steps`` during warm-up, then
    ``0.5 * (1 + cos(pi * progress))`` with progress going from 0 to 1 over the remaining steps."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def build_warmup_cosine(optimizer: torch.optim.Optimizer, *, total_steps: int, warmup_fraction: float) -> LambdaLR:
    """Per-iteration `warmup_cosine_factor` schedule over ``total_steps`` optimizer steps.

    The warm-up lasts ``round(warmup_fraction * total_steps)`` steps (none when that is 0).
    """
    warmup_steps = round(warmup_fraction * total_steps)

    def factor(step: int) -> float:
        return warmup_cosine_factor(step, warmup_steps=warmup_steps, total_steps=total_steps)

    return LambdaLR(optimizer, lr_lambda=factor)
