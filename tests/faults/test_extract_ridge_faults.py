"""Extraction and ridge under SIGKILL: the rerun finishes with the outputs of an uninterrupted run (the feature
store bitwise, resuming from its last complete chunk), and no MLflow run is left RUNNING."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from PIL import Image

from perceptflow.data.datasets import DatasetTable, save_table
from perceptflow.models import build_encoder
from perceptflow.models.encoder_file import save_encoder
from perceptflow.regress.splits import content_splits, splits_to_json
from perceptflow.tracking.runs import RESUMES_TAG

#: One rule's job in its own process, as a `script:` job is; ``kill`` SIGKILLs it in the middle of the work.
CHILD = """
import json, os, pathlib, signal, sys, torch
from perceptflow.tracking import TrackingSettings, stage_run
args = json.loads(sys.argv[1])
root = pathlib.Path(args["root"])
torch.set_num_threads(1)
settings = TrackingSettings(experiment="faults", tracking_uri=args["uri"])

def sigkill(*_args, **_kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

if args["stage"] == "extract":
    from perceptflow.data.datasets import read_table
    from perceptflow.features.extract import extract_dataset
    from perceptflow.features.partial import PartialStore
    if args["kill"]:
        write_chunk, written = PartialStore.write_chunk, []
        def dies_after_two(self, chunk, values):
            if len(written) == 2:
                sigkill()
            written.append(chunk)
            write_chunk(self, chunk, values)
        PartialStore.write_chunk = dies_after_two
    with stage_run(stage="extract", rule="extract_features", run_file=root / "run.json", settings=settings):
        extract_dataset(read_table(args["table"]), encoder_path=args["encoder"], out=root / "store.zarr",
            batch_size=4, device=torch.device("cpu"), threads=1, chunk_rows=8, decode_workers=0,
            partial_dir=root / "partial")
else:
    import perceptflow.regress.ridge as ridge
    from perceptflow.regress.stage import regress_ridge
    if args["kill"]:
        ridge.ridge_path = sigkill  # after the first pass over the store, before any split is solved
    with stage_run(stage="regress", rule="regress_ridge", run_file=root / "run.json", settings=settings):
        regress_ridge(args["store"], args["table"], args["splits"], alphas=[0.1, 1.0, 10.0],
            predictions_out=root / "predictions.csv", alphas_out=root / "alphas.csv")
"""


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """36 distorted images of two sizes over 6 references, their table, splits and a random encoder file."""
    root = tmp_path_factory.mktemp("dataset")
    rng = np.random.default_rng(0)
    rows = []
    for i in range(36):
        ref, size = f"r{i % 6}", ((32, 32) if i % 4 else (40, 32))
        path, ref_path = root / f"d{i}.png", root / f"{ref}_{size[0]}.png"
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(path)
        if not ref_path.exists():
            Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(ref_path)
        rows.append({"image_id": f"d{i}", "path": str(path), "ref_id": ref, "ref_path": str(ref_path),
                     "target": float(i % 5) + rng.normal(0, 0.1), "dist_type": "noise"})  # fmt: skip
    table = DatasetTable("tiny", pd.DataFrame(rows), "level", False)
    save_table(table, root / "table.csv")
    refs = [row["ref_id"] for row in rows]
    splits_to_json(content_splits(refs, 3, (0.5, 0.25, 0.25), 0), refs, root / "splits.json")
    save_encoder(build_encoder("resnet18", seed=0), root / "encoder.pt", method="random_init")
    return {"table": str(root / "table.csv"), "splits": str(root / "splits.json"), "encoder": str(root / "encoder.pt")}


def _child(stage: str, root: Path, uri: str, dataset: dict[str, str], *, kill: bool, store: Path | None = None) -> int:
    root.mkdir(parents=True, exist_ok=True)
    args = {"stage": stage, "root": str(root), "uri": uri, "kill": kill, "store": str(store), **dataset}
    return subprocess.run([sys.executable, "-c", CHILD, json.dumps(args)], timeout=900).returncode


def _store_bytes(path: Path) -> dict[str, bytes]:
    return {str(f.relative_to(path)): f.read_bytes() for f in sorted(path.rglob("*")) if f.is_file()}


def _statuses_and_link(uri: str) -> list[str]:
    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("faults").experiment_id])
    killed = [r.info.run_id for r in runs if r.info.status == "KILLED"]
    finished = [r for r in runs if r.info.status == "FINISHED"]
    assert len(finished) == 1 and finished[0].data.tags[RESUMES_TAG] == ",".join(killed)
    return sorted(r.info.status for r in runs)


def test_sigkill_during_extraction__rerun_resumes_to_a_bitwise_identical_store(
    dataset: dict[str, str], tmp_path: Path
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    killed = tmp_path / "killed"
    assert _child("extract", killed, uri, dataset, kill=True) == -signal.SIGKILL
    assert not (killed / "store.zarr").exists(), "a partial store never appears as the output"
    (progress,) = (killed / "partial").glob("*/progress.json")
    assert sum(json.loads(progress.read_text())["chunks"].values()) == 2, "two complete chunks survive the kill"
    assert _child("extract", killed, uri, dataset, kill=False) == 0
    assert _child("extract", tmp_path / "clean", f"sqlite:///{tmp_path / 'clean.db'}", dataset, kill=False) == 0
    assert _store_bytes(killed / "store.zarr") == _store_bytes(tmp_path / "clean" / "store.zarr")
    assert not list((killed / "partial").iterdir()), "the partial store is moved into place, nothing left behind"
    assert _statuses_and_link(uri) == ["FINISHED", "KILLED"], "no run left RUNNING"


def test_sigkill_during_ridge__rerun_equals_uninterrupted_and_no_run_stays_running(
    dataset: dict[str, str], tmp_path: Path
) -> None:
    store_root = tmp_path / "features"
    assert _child("extract", store_root, f"sqlite:///{tmp_path / 'x.db'}", dataset, kill=False) == 0
    store, uri = store_root / "store.zarr", f"sqlite:///{tmp_path / 'mlflow.db'}"
    killed = tmp_path / "killed"
    assert _child("regress", killed, uri, dataset, kill=True, store=store) == -signal.SIGKILL
    assert not (killed / "predictions.csv").exists() and not (killed / "run.json").exists()
    assert _child("regress", killed, uri, dataset, kill=False, store=store) == 0
    clean = tmp_path / "clean"
    assert _child("regress", clean, f"sqlite:///{tmp_path / 'clean.db'}", dataset, kill=False, store=store) == 0
    assert (killed / "predictions.csv").read_bytes() == (clean / "predictions.csv").read_bytes()
    assert (killed / "alphas.csv").read_bytes() == (clean / "alphas.csv").read_bytes()
    assert len(pd.read_csv(clean / "predictions.csv")) > 0
    assert _statuses_and_link(uri) == ["FINISHED", "KILLED"], "no run left RUNNING"
