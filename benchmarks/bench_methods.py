"""Training throughput per self-supervised method, and the share of step time spent waiting for data.

Every method in `perceptflow.ssl.METHODS` (or ``--methods``) trains on the same bank of bundled demo photographs
(5 foundation types x 5 levels + pristine) with the same encoder, batch and crop, once with the batches decoded
in the training process (``num_workers=0``: the baseline) and once with loader workers (``--workers``). Reports the
steady-state epoch (the last one) per method and setting, and each method's speed relative to CONTRIQUE measured
in the same run. CUDA with AMP when a GPU is present, else CPU fp32. Prints a Markdown table and one JSON document.

    python benchmarks/bench_methods.py --size 128 --crop 64 --epochs 2 --batch-size 32 --workers 2
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch

from perceptflow.models import pick_device
from perceptflow.ssl import METHODS, TrainConfig, train_method

sys.path.insert(0, str(Path(__file__).parent))
from bench_train_extract import make_bank  # the shared bank builder of the benchmarks


def time_method(name: str, samples: list, config: TrainConfig, root: Path, device: torch.device) -> dict:
    """Train ``name`` from scratch; the last epoch's row (images/s, data-wait share, loss)."""
    folder = root / f"{name}-w{config.num_workers}"
    history = train_method(
        METHODS[name], samples, config, checkpoint_dir=folder / "ckpt", encoder_out=folder / "enc.pt", device=device
    )
    last = history[-1]
    return {
        "method": name,
        "workers": config.num_workers,
        "images_per_s": last["images_per_s"],
        "data_wait_fraction": last["data_wait_fraction"],
        "loss_first": history[0]["loss"],
        "loss_last": last["loss"],
    }


def markdown(rows: list[dict], device: str) -> str:
    """The result table, with each row's speed relative to CONTRIQUE at the same worker count."""
    reference = {r["workers"]: r["images_per_s"] for r in rows if r["method"] == "contrique"}
    lines = [
        f"| method | workers | train images/s ({device}) | vs CONTRIQUE | data wait | loss first → last |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = r["images_per_s"] / reference[r["workers"]] if r["workers"] in reference else float("nan")
        lines.append(
            f"| {r['method']} | {r['workers']} | {r['images_per_s']:.1f} | {ratio:.2f}x | "
            f"{100 * r['data_wait_fraction']:.0f}% | {r['loss_first']:.3f} → {r['loss_last']:.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=sorted(METHODS))
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--crop", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--workers", type=int, default=2, help="loader workers of the second setting (0 = skip)")
    parser.add_argument("--max-images", type=int, default=260, help="bank images used (the first N)")
    args = parser.parse_args()
    device = pick_device()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "bank").mkdir()
        samples = make_bank(root / "bank", args.size)[: args.max_images]
        for workers in sorted({0, args.workers}):
            for name in args.methods:
                config = TrainConfig(
                    arch=args.arch,
                    epochs=args.epochs,
                    batch_size=args.batch_size,
                    lr=0.01,
                    crop_size=args.crop,
                    num_workers=workers,
                )
                rows.append(time_method(name, samples, config, root, device))
                print(json.dumps(rows[-1]), flush=True)
    label = torch.cuda.get_device_name() if device.type == "cuda" else f"CPU x{torch.get_num_threads()}"
    print(markdown(rows, label))
    print(json.dumps({"device": label, "torch": torch.__version__, "n_images": len(samples), "rows": rows}))


if __name__ == "__main__":
    main()
