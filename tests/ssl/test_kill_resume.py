"""A training process killed by SIGTERM mid-run resumes from its last checkpoint and ends like an uninterrupted run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from perceptflow.ssl import METHODS, TrainConfig, TrainSample, train_method

CONFIG = TrainConfig(epochs=5, batch_size=8, crop_size=32, lr=0.3, seed=0)

CHILD = """
import json, sys, pathlib, torch
from perceptflow.ssl import METHODS, TrainConfig, TrainSample, train_method
args = json.loads(sys.argv[1])
samples = [TrainSample(path=p, label=l) for p, l in args["samples"]]
marks = pathlib.Path(args["marks"])
train_method(
    METHODS["simclr"], samples, TrainConfig(**args["config"]), checkpoint_dir=pathlib.Path(args["root"]) / "ckpt",
    encoder_out=pathlib.Path(args["root"]) / "encoder.pt", device=torch.device("cpu"), threads=1,
    on_epoch=lambda row: (marks / str(row["epoch"])).write_text(str(row["seconds"])),
)
"""


def _train(samples: list[TrainSample], root: Path, **kwargs: Any) -> list[dict[str, Any]]:
    return train_method(
        METHODS["simclr"],
        samples,
        CONFIG,
        checkpoint_dir=root / "ckpt",
        encoder_out=root / "encoder.pt",
        device=torch.device("cpu"),
        threads=1,
        **kwargs,
    )


def _start_and_kill_mid_epoch(samples: list[TrainSample], root: Path) -> int:
    """Run training in a child process; SIGTERM it half-way through epoch 3; return its exit code."""
    marks = root / "marks"
    marks.mkdir(parents=True)
    args = {
        "samples": [[str(s.path), s.label] for s in samples],
        "config": {k: getattr(CONFIG, k) for k in ("epochs", "batch_size", "crop_size", "lr", "seed")},
        "root": str(root),
        "marks": str(marks),
    }
    child = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(args)])
    deadline = time.monotonic() + 120
    while not (marks / "2").exists():
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            pytest.fail(f"training child ended early or stalled (exit {child.returncode})")
        time.sleep(0.05)
    time.sleep(0.5 * float((marks / "2").read_text()))  # about half an epoch
    child.send_signal(signal.SIGTERM)
    return child.wait(timeout=60)


@pytest.mark.slow
def test_sigterm_mid_epoch__rerun_resumes_without_gaps_and_matches_uninterrupted(
    tiny_samples: list[TrainSample], tmp_path: Path
) -> None:
    killed = tmp_path / "killed"
    assert _start_and_kill_mid_epoch(tiny_samples, killed) == -signal.SIGTERM
    saved = torch.load(killed / "ckpt" / "last.pt", weights_only=True)["epoch"]
    assert 2 <= saved < CONFIG.epochs
    assert not (killed / "encoder.pt").exists()

    resumed_rows: list[dict[str, Any]] = []
    history = _train(tiny_samples, killed, on_epoch=resumed_rows.append)
    assert [row["epoch"] for row in history] == [1, 2, 3, 4, 5]
    assert [row["epoch"] for row in resumed_rows] == list(range(saved + 1, CONFIG.epochs + 1))

    reference = _train(tiny_samples, tmp_path / "reference")
    assert [row["loss"] for row in history] == [row["loss"] for row in reference]
    first = torch.load(killed / "encoder.pt", weights_only=True)["state_dict"]
    second = torch.load(tmp_path / "reference" / "encoder.pt", weights_only=True)["state_dict"]
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)
