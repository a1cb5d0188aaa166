"""Does training pay on the demo? Severity SRCC of CONTRIQUE encoders vs a random-init encoder, per setting.

Builds the demo bank (20 bundled photographs, the 5 foundation types x 5 levels), trains one encoder per
(lr, epochs, crop) setting, extracts features, fits ridge on 10 reference-separated splits and prints the median
test SRCC of each against the random-init baseline on the same splits. Used to choose config.yaml's values.

    python benchmarks/sweep_demo_training.py --lrs 0.02 0.075 0.2 --epochs 8 --crops 80
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from pathlib import Path

import pandas as pd
from bench_train_extract import make_bank

from perceptflow.data.datasets import DatasetTable
from perceptflow.evaluate.summary import summarize_nr
from perceptflow.features.extract import encode_images
from perceptflow.models import build_encoder, load_encoder, pick_device
from perceptflow.regress.splits import content_splits
from perceptflow.regress.stage import ridge_on_features
from perceptflow.ssl import TrainConfig, train_contrique


def severity_table(samples: list) -> DatasetTable:
    rows = [s for s in samples if s.label != 0]
    frame = pd.DataFrame(
        {
            "image_id": [s.path.stem for s in rows],
            "path": [str(s.path) for s in rows],
            "ref_id": [s.path.stem.split("__")[0] for s in rows],
            "ref_path": [str(s.path.parent / (s.path.stem.split("__")[0] + ".png")) for s in rows],
            "target": [float(s.path.stem.split("__")[2]) for s in rows],
            "dist_type": [s.path.stem.split("__")[1] for s in rows],
        }
    )
    return DatasetTable(name="synthetic", frame=frame, target_name="level", higher_is_better=False)


def severity_srcc(encoder, table: DatasetTable, splits, device) -> float:
    features = encode_images(encoder, list(table.frame["path"]), batch_size=64, device=device)
    result = ridge_on_features(features, table, splits, alphas=[0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0])
    return summarize_nr(result.predictions)["srcc_median"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=160)
    parser.add_argument("--lrs", type=float, nargs="+", default=[0.075])
    parser.add_argument("--epochs", type=int, nargs="+", default=[8])
    parser.add_argument("--crops", type=int, nargs="+", default=[80])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    device = pick_device()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "bank").mkdir()
        samples = make_bank(root / "bank", args.size)
        table = severity_table(samples)
        splits = content_splits(list(table.frame["ref_id"]), 10, (0.7, 0.1, 0.2), 0)
        rows = [
            {"setting": "random_init", "srcc": severity_srcc(build_encoder("resnet18", seed=0), table, splits, device)}
        ]
        for lr, epochs, crop in itertools.product(args.lrs, args.epochs, args.crops):
            start = time.perf_counter()
            config = TrainConfig(epochs=epochs, batch_size=args.batch_size, lr=lr, crop_size=crop)
            out = root / f"enc-{lr}-{epochs}-{crop}.pt"
            history = train_contrique(
                samples, config, checkpoint_dir=root / out.stem, encoder_out=out, device=device, threads=args.threads
            )
            encoder, _ = load_encoder(out)
            rows.append(
                {
                    "setting": f"lr={lr} epochs={epochs} crop={crop}",
                    "srcc": severity_srcc(encoder, table, splits, device),
                    "loss_first": history[0]["loss"],
                    "loss_last": history[-1]["loss"],
                    "train_seconds": time.perf_counter() - start,
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
