"""GPU section ``quality``: the natural-data path through the library, timed, ending in LIVE dev SRCCs.

Bank of BSDS500 train+val (``distortions.bank``, dask threads), CONTRIQUE training (``ssl.training``), extraction,
ridge and FR scores on ../shared/data/live-jpeg-dev (``evaluate.standalone``). Prints images/s per step and the
SRCCs; unmeasured on GPU until a session with a device runs it. ``smoke`` runs it tiny on the CPU.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from perceptflow.data.datasets import load_csv_dataset
from perceptflow.distortions.bank import BankSpec, collect_references, generate_bank
from perceptflow.evaluate.standalone import EvaluationSettings, evaluate_checkpoint
from perceptflow.ssl.config import TrainConfig
from perceptflow.ssl.registry import METHODS
from perceptflow.ssl.training import train_from_manifest

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TYPES = ("gaussian_blur", "white_noise", "jpeg", "jpeg2000", "contrast_change")


def check_quality(device: str, smoke: bool) -> dict[str, Any]:
    """Bank, train, extract and evaluate at GPU size (resnet50 at 224 px: ``smoke`` = 4 references, resnet18, 64 px)."""
    folders = [str(DATA / "bsds500" / "train"), str(DATA / "bsds500" / "val")]
    references = collect_references({"kind": "folder", "path": folders})
    if smoke:
        references = dict(list(references.items())[:4])
    crop = 64 if smoke else 256
    spec = BankSpec(
        types=TYPES[:2] if smoke else TYPES, levels=(1, 3) if smoke else (1, 2, 3, 4, 5), crop=crop, resize=crop
    )
    train = (
        {"arch": "resnet18", "epochs": 1, "batch_size": 8, "crop_size": 32, "lr": 0.01}
        if smoke
        else {
            "arch": "resnet50",
            "epochs": 2,
            "batch_size": 128,
            "crop_size": 224,
            "lr": 0.3,
            "num_workers": 8,
            "color_views": True,
        }
    )
    record: dict[str, Any] = {"device": device, "n_references": len(references), "amp": "not in the trainer"}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        manifest = generate_bank(references, spec, out_dir=root / "bank", threads=2 if smoke else 16)
        manifest.to_csv(root / "manifest.csv", index=False)
        record["bank_images_per_s"] = len(manifest) / (time.perf_counter() - start)
        start = time.perf_counter()
        history = train_from_manifest(
            METHODS["contrique"],
            TrainConfig.from_dict(train),
            root / "manifest.csv",
            checkpoint_dir=root / "ckpt",
            encoder_out=root / "encoder.pt",
        )
        record["train_images_per_s"] = len(manifest) * train["epochs"] / (time.perf_counter() - start)
        record["loss_last"] = history[-1].get("loss")
        table = load_csv_dataset(DATA / "live-jpeg-dev" / "scores.csv", score_column="dmos", higher_is_better=False)
        if smoke:
            frame = table.frame.groupby("ref_id").head(2)  # 2 images of each of the 8 references
            table = type(table)(table.name, frame.reset_index(drop=True), table.target_name, False)
        start = time.perf_counter()
        metrics = evaluate_checkpoint(
            root / "encoder.pt",
            table,
            out_dir=root / "eval",
            device=torch.device(device),
            settings=EvaluationSettings(n_splits=5 if smoke else 50),
        )
        record["evaluate_s"] = time.perf_counter() - start
    record["live_dev"] = {row["model"] + "." + row["mode"]: row.get("srcc") for row in metrics["table"]}
    return record
