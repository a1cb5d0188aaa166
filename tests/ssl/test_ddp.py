"""DDP on CPU with gloo: 2 ranks take identical steps, shard the data, and only rank 0 writes files."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pandas as pd
import pytest
import torch
import torch.multiprocessing as mp

from perceptflow.ssl import METHODS, TrainConfig, TrainSample, train_method
from perceptflow.ssl.torchrun import torchrun_command, train_with_torchrun
from perceptflow.ssl.views import SeededSampler

WORLD = 2
CONFIG = TrainConfig(epochs=1, batch_size=8, crop_size=32, lr=0.3, seed=0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _worker(rank: int, port: int, samples: list[TrainSample], root: str) -> None:
    os.environ.update(
        {
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "WORLD_SIZE": str(WORLD),
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
        }
    )
    import torch.distributed as dist

    from perceptflow.ssl.distributed import init_from_env
    from perceptflow.ssl.trainer import _Run

    assert init_from_env()
    try:
        torch.set_num_threads(1)
        run = _Run(METHODS["contrique"], samples, CONFIG, torch.device("cpu"))
        assert isinstance(run.model, torch.nn.parallel.DistributedDataParallel)
        batch = next(iter(run.loader))
        run.step(batch)
        state = {k: v.detach().clone() for k, v in run.method.state_dict().items() if v.is_floating_point()}
        names = [n for n, p in run.method.named_parameters()]
        torch.save({"state": state, "params": names, "batch": len(batch[0])}, Path(root) / f"rank{rank}.pt")
        rows: list[dict] = []
        train_method(
            METHODS["simclr"],
            samples,
            CONFIG,
            checkpoint_dir=Path(root) / "ckpt",
            encoder_out=Path(root) / "out" / "encoder.pt",
            device=torch.device("cpu"),
            on_epoch=rows.append,
        )
        (Path(root) / f"epochs{rank}.json").write_text(json.dumps(len(rows)))
    finally:
        dist.destroy_process_group()


def test_sampler__ranks_get_disjoint_equal_shards_in_step() -> None:
    shards = [list(SeededSampler(7, torch.Generator().manual_seed(1), rank=r, world=2)) for r in range(2)]
    assert [len(s) for s in shards] == [3, 3]
    assert not {i for i, _ in shards[0]} & {i for i, _ in shards[1]}
    single = list(SeededSampler(7, torch.Generator().manual_seed(1)))
    assert shards[0] == single[0:6:2] and shards[1] == single[1:6:2]
    with pytest.raises(ValueError, match="rank"):
        SeededSampler(7, torch.Generator(), rank=2, world=2)


@pytest.mark.slow
def test_ddp__two_gloo_ranks_hold_identical_parameters_and_one_checkpoint(
    tiny_samples: list[TrainSample], tmp_path: Path
) -> None:
    mp.spawn(_worker, args=(_free_port(), tiny_samples, str(tmp_path)), nprocs=WORLD, join=True)
    first, second = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(WORLD))
    assert first["batch"] == second["batch"] == CONFIG.batch_size // WORLD
    assert first["state"].keys() == second["state"].keys()
    assert all(
        torch.equal(first["state"][k], second["state"][k]) for k in first["state"] if "running" not in k
    )  # BN running stats stay per-rank on CPU (no SyncBatchNorm there)
    initial = METHODS["contrique"].build(CONFIG).state_dict()
    assert not torch.equal(initial["model.projector.0.weight"], first["state"]["model.projector.0.weight"])
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["last.pt"]
    assert (tmp_path / "out" / "encoder.pt").is_file()
    assert [json.loads((tmp_path / f"epochs{r}.json").read_text()) for r in range(WORLD)] == [1, 0]


def test_torchrun_command__names_processes_and_module(tmp_path: Path) -> None:
    command = torchrun_command(
        4,
        method="simclr",
        manifest="m.csv",
        params={"epochs": 1},
        checkpoint_dir="c",
        encoder_out="e",
        history_out="h",
        threads=2,
    )
    assert command[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=4"]
    assert command[command.index("--params") + 1] == '{"epochs": 1}'
    with pytest.raises(ValueError, match=r"resources\.gpu"):
        torchrun_command(
            1, method="simclr", manifest="m", params={}, checkpoint_dir="c", encoder_out="e", history_out="h"
        )


@pytest.mark.slow
def test_torchrun__two_cpu_processes_train_from_a_manifest(tiny_samples: list[TrainSample], tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.csv"
    pd.DataFrame({"path": [str(s.path) for s in tiny_samples], "class_label": [s.label for s in tiny_samples]}).to_csv(
        manifest, index=False
    )
    params = {"epochs": 2, "batch_size": 8, "crop_size": 32, "lr": 0.3}
    history = train_with_torchrun(
        2,
        method="contrique",
        manifest=manifest,
        params=params,
        checkpoint_dir=tmp_path / "ckpt",
        encoder_out=tmp_path / "encoder.pt",
        history_out=tmp_path / "history.json",
        threads=1,
    )
    assert [row["epoch"] for row in history] == [1, 2]
    assert (tmp_path / "encoder.pt").is_file()
    assert [p.name for p in (tmp_path / "ckpt").rglob("*.pt")] == ["last.pt"]
