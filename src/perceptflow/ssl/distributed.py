"""Helpers for training under ``torchrun`` (DDP); each is a no-op without an initialised process group."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import Tensor


def is_distributed() -> bool:
    """True when a default process group is initialised."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's global rank (0 without a process group)."""
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    """Number of processes (1 without a process group)."""
    return dist.get_world_size() if is_distributed() else 1


def is_main_process() -> bool:
    """True on rank 0: the one process that logs and writes checkpoints."""
    return rank() == 0


def launched_world_size() -> int:
    """``WORLD_SIZE`` set by ``torchrun`` (1 when not launched by it)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def init_from_env() -> bool:
    """Join the process group ``torchrun`` describes in the environment; True when training is distributed.

    NCCL on CUDA (each rank on ``cuda:LOCAL_RANK``), gloo on CPU. A no-op outside ``torchrun`` (``WORLD_SIZE``
    unset or 1) and when a group is already initialised.
    """
    if is_distributed():
        return True
    if launched_world_size() <= 1:
        return False
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl")
    else:
        dist.init_process_group("gloo")
    return True


def local_device() -> torch.device:
    """This rank's device: ``cuda:LOCAL_RANK`` when CUDA is available, else CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


class _GatherWithGradient(torch.autograd.Function):
    """all_gather whose backward sums the gradients of every rank's copy and returns this rank's slice."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, x: Tensor) -> tuple[Tensor, ...]:
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x.contiguous())
        return tuple(parts)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, *grads: Tensor) -> Tensor:
        stacked = torch.stack(grads)
        dist.all_reduce(stacked)
        return stacked[dist.get_rank()]


def gather_with_gradient(x: Tensor) -> Tensor:
    """Concatenate ``x`` from all ranks along dim 0, rank order, keeping gradients flowing to every rank.

    All ranks must pass the same shape. With DDP's gradient averaging, a loss computed on the gathered tensor
    on every rank gets the gradient of that one global loss (the SimCLR ``GatherLayer`` construction).
    """
    if not is_distributed() or dist.get_world_size() == 1:
        return x
    return torch.cat(_GatherWithGradient.apply(x), dim=0)


def gather_no_gradient(x: Tensor) -> Tensor:
    """Concatenate ``x`` (e.g. labels) from all ranks along dim 0, rank order, without gradient."""
    if not is_distributed() or dist.get_world_size() == 1:
        return x
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts, dim=0)
