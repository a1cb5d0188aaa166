"""Training under faults: a SIGKILLed training resumes to the uninterrupted result with its whole loss history in
MLflow and no run left RUNNING; a full disk names the file and "no space left on device"."""

from __future__ import annotations

import errno
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from mlflow.tracking import MlflowClient
from PIL import Image

from perceptflow.models import encoder_file
from perceptflow.ssl import METHODS, TrainConfig
from perceptflow.ssl.training import train_from_manifest
from perceptflow.tracking.runs import RESUMES_TAG

CONFIG = {"epochs": 4, "batch_size": 6, "crop_size": 32, "lr": 0.6, "seed": 0}

CHILD = """
import json, os, pathlib, signal, sys, torch
from perceptflow.ssl import METHODS, TrainConfig
from perceptflow.ssl.training import train_from_manifest
from perceptflow.tracking import TrackingSettings, stage_run
args = json.loads(sys.argv[1])
root = pathlib.Path(args["root"])
torch.set_num_threads(1)
settings = TrackingSettings(experiment="faults", tracking_uri=args["uri"])

def on_epoch(row):
    run.log_metrics(row, step=row["epoch"])
    if row["epoch"] == args["kill_after"]:
        os.kill(os.getpid(), signal.SIGKILL)

with stage_run(stage="train", rule="train_encoder", run_file=root / "run.json", settings=settings) as run:
    history = train_from_manifest(METHODS["contrique"], TrainConfig(**args["config"]), args["manifest"],
        checkpoint_dir=root / "ckpt", encoder_out=root / "encoder.pt", threads=1, on_epoch=on_epoch)
    run.log_history(history)
"""


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bank")
    rng = np.random.default_rng(0)
    rows = []
    for index in range(6):
        Image.fromarray(rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)).save(folder / f"{index}.png")
        rows.append({"path": f"{index}.png", "class_label": index % 3})
    pd.DataFrame(rows).to_csv(folder / "manifest.csv", index=False)
    return folder / "manifest.csv"


def _child(manifest: Path, root: Path, uri: str, kill_after: int) -> int:
    args = {"root": str(root), "uri": uri, "manifest": str(manifest), "config": CONFIG, "kill_after": kill_after}
    return subprocess.run([sys.executable, "-c", CHILD, json.dumps(args)], timeout=900).returncode


def test_sigkill_during_training__rerun_equals_uninterrupted_and_no_run_stays_running(
    manifest: Path, tmp_path: Path
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert _child(manifest, tmp_path / "killed", uri, kill_after=2) == -signal.SIGKILL
    assert not (tmp_path / "killed" / "encoder.pt").exists()
    assert _child(manifest, tmp_path / "killed", uri, kill_after=0) == 0
    torch.set_num_threads(1)
    train_from_manifest(
        METHODS["contrique"],
        TrainConfig(**CONFIG),
        manifest,
        checkpoint_dir=tmp_path / "clean" / "ckpt",
        encoder_out=tmp_path / "clean" / "encoder.pt",
        threads=1,
    )
    resumed = torch.load(tmp_path / "killed" / "encoder.pt", weights_only=True)["state_dict"]
    clean = torch.load(tmp_path / "clean" / "encoder.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(resumed[k], clean[k]) for k in clean), "bitwise equal to an uninterrupted run"

    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("faults").experiment_id])
    assert sorted(r.info.status for r in runs) == ["FINISHED", "KILLED"], "no run left RUNNING"
    (finished,) = (r for r in runs if r.info.status == "FINISHED")
    (killed,) = (r for r in runs if r.info.status == "KILLED")
    assert finished.data.tags[RESUMES_TAG] == killed.info.run_id
    steps = sorted(m.step for m in client.get_metric_history(finished.info.run_id, "loss"))
    assert steps == [1, 2, 3, 4], "the resumed run holds the whole loss curve"


def test_full_disk_while_saving_names_the_file_and_keeps_the_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "last.pt"
    encoder_file.atomic_torch_save({"a": 1}, target)
    before = target.read_bytes()

    def full_disk(path: Path, data: bytes) -> None:
        path.write_bytes(data[:10])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(encoder_file, "_write_file", full_disk)
    with pytest.raises(OSError, match=rf"no space left on device while writing {target}") as error:
        encoder_file.atomic_torch_save({"a": torch.zeros(1000)}, target)
    assert error.value.errno == errno.ENOSPC
    assert target.read_bytes() == before, "the previous file is intact"
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"], "no temporary file is left"


def test_full_disk_during_training_stops_with_the_checkpoint_named(
    manifest: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(path: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(encoder_file, "_write_file", full_disk)
    start = time.monotonic()
    with pytest.raises(OSError, match=r"no space left on device while writing .*ckpt/\w+/last\.pt"):
        train_from_manifest(
            METHODS["contrique"],
            TrainConfig(**{**CONFIG, "epochs": 1}),
            manifest,
            checkpoint_dir=tmp_path / "ckpt",
            encoder_out=tmp_path / "encoder.pt",
            threads=1,
        )
    assert time.monotonic() - start < 600
