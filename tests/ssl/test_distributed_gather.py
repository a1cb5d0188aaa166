"""CONTRIQUE's loss over embeddings gathered from 2 CPU processes (gloo) equals the single-process loss."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from perceptflow.ssl import ContriqueLoss, multiclass_nt_xent

WORLD = 2


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    z = torch.randn(16, 6, generator=generator)
    labels = torch.eye(2).repeat_interleave(4, dim=0).repeat(2, 1)
    return z, labels


def _worker(rank: int, init_file: str, out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    try:
        z, labels = _batch()
        local = z.chunk(WORLD)[rank].clone().requires_grad_(True)
        loss = ContriqueLoss(0.1, gather_distributed=True)(local, labels.chunk(WORLD)[rank])
        loss.backward()
        torch.save({"loss": loss.detach(), "grad": local.grad}, Path(out_dir) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_gather__two_ranks_see_the_global_loss_and_gradient(tmp_path: Path) -> None:
    mp.spawn(_worker, args=(str(tmp_path / "init"), str(tmp_path)), nprocs=WORLD, join=True)
    z, labels = _batch()
    z.requires_grad_(True)
    expected = multiclass_nt_xent(z, labels, 0.1)
    expected.backward()
    for rank, grad in enumerate(z.grad.chunk(WORLD)):
        result = torch.load(tmp_path / f"rank{rank}.pt", weights_only=True)
        torch.testing.assert_close(result["loss"], expected.detach())
        # Gradients of every rank's copy are summed; DDP's averaging over ranks then divides by WORLD.
        torch.testing.assert_close(result["grad"], WORLD * grad)
