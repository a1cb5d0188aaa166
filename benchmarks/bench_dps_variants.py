r"""DPS adaptation variants vs the untrained metric on held-out triplets, with ``adapt_dps.backbone_lr`` swept.

Makes the DPS triplets (``DpsSpec(n_triplets, rankings=2, seed=0)``) from a distort bank's reference crops, as the
``distort_dps_triplets`` rule does, then runs `perceptflow.dps.stage.adapt_dps` (the ``adapt_dps`` rule)
for every (encoder, variant, backbone_lr). Per (encoder, variant) the backbone_lr with the best mean VALIDATION
2AFC over the contexts is chosen (ties: the smaller backbone_lr); held-out triplets are only reported. ``lin``
ignores backbone_lr and runs once.
Every run's ``2afc.json`` is kept under ``--out`` and reused when present, so an interrupted sweep resumes;
``--table-only`` tabulates every run under ``--out``.

Example (docs/dps_adaptation.md, "tune / scratch"):

    .venv/bin/python benchmarks/bench_dps_variants.py --manifest /tmp/demo-methods/results/distort/manifest.csv \\
        --encoder contrique=/tmp/demo-methods/results/train/contrique/encoder.pt --out /tmp/dps-tune \\
        --n-triplets 400 --epochs 8 --batch-size 32 --variants lin tune --backbone-lrs 1e-5 1e-4 1e-3 --workers 2

``--encoder random_init`` (always included) is ``build_encoder("resnet18", seed=0)``; with ``adapt_dps.seed`` 0 the
``scratch`` backbone is that same network, so ``scratch`` adapts exactly as ``tune`` over ``random_init``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

RANDOM_INIT = "random_init"


def make_triplets(manifest: Path, out: Path, n_triplets: int) -> Path:
    """``out/dps/triplets.csv`` (+ images) from the bank's reference crops; reused when present."""
    from perceptflow.distortions.dps.triplets import DpsSpec, generate_triplets, reference_patches

    csv = out / "dps" / "triplets.csv"
    if not csv.is_file():
        table = generate_triplets(
            reference_patches(manifest),
            DpsSpec(n_triplets=n_triplets, rankings=2, seed=0),
            out_dir=csv.parent / "images",
        )
        table.to_csv(csv, index=False)
    return csv


def encoder_files(specs: list[str], out: Path) -> dict[str, Path]:
    """Name -> encoder file; ``random_init`` is written to ``out`` (seed 0)."""
    from perceptflow.models import build_encoder, save_encoder

    files: dict[str, Path] = {}
    for spec in [RANDOM_INIT, *specs]:
        name, _, path = spec.partition("=")
        if name == RANDOM_INIT:
            target = out / "random_init.pt"
            if not target.is_file():
                save_encoder(build_encoder("resnet18", seed=0), target, method=RANDOM_INIT, metadata={"seed": 0})
            files[name] = target
        else:
            if not Path(path).is_file():
                raise FileNotFoundError(f"--encoder {spec}: no such file")
            files[name] = Path(path)
    return files


def run_one(job: dict[str, Any]) -> dict[str, Any]:
    """One `run_adapt_dps` call (single torch thread); returns its 2afc.json content plus wall seconds."""
    import torch

    from perceptflow.dps.stage import adapt_dps

    scores = Path(job["dir"]) / "2afc.json"
    if scores.is_file():
        return json.loads(scores.read_text())
    torch.set_num_threads(job["threads"])
    started = time.perf_counter()
    summary = adapt_dps(
        job["triplets"],
        job["encoder_path"],
        encoder_name=job["encoder"],
        variant=job["variant"],
        params=job["params"],
        metric_out=Path(job["dir"]) / "metric.pt",
        history_out=Path(job["dir"]) / "history.csv",
        scores_out=scores,
    )
    summary["wall_s"] = time.perf_counter() - started
    scores.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"done {job['encoder']}/{job['variant']} backbone_lr={job['params']['backbone_lr']}", flush=True)
    return summary


def table(results: list[dict[str, Any]]) -> str:
    """Markdown: every run (validation and held-out), then the validation-chosen row per (encoder, variant)."""

    def cells(summary: dict[str, Any], split: str) -> list[str]:
        contexts = summary["contexts"]
        return [f"{c[f'untrained_{split}']:.3f} → {c[f'adapted_{split}']:.3f}" for _, c in sorted(contexts.items())]

    def mean(summary: dict[str, Any], key: str) -> float:
        return float(np.mean([c[key] for c in summary["contexts"].values()]))

    lines = [
        "| encoder | variant | backbone_lr | val ctx 0 | val ctx 1 | val mean | held-out ctx 0 | held-out ctx 1 | "
        "held-out mean | best epochs | wall s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    chosen: dict[tuple[str, str], dict[str, Any]] = {}
    for summary in results:
        chosen.setdefault((summary["encoder"], summary["variant"]), summary)
    for summary in results:
        key = (summary["encoder"], summary["variant"])

        def rank(run: dict[str, Any]) -> tuple[float, float]:
            # Mean validation 2AFC (rounded: a tie of 1/n sums must not be broken by float noise), then the
            # smaller backbone_lr (the smaller step away from the given encoder).
            return round(mean(run, "adapted_val"), 9), -run["settings"]["backbone_lr"]

        if rank(summary) > rank(chosen[key]):
            chosen[key] = summary
    for summary in results:
        blr = "-" if summary["variant"] == "lin" else f"{summary['settings']['backbone_lr']:g}"
        mark = " (chosen)" if chosen[(summary["encoder"], summary["variant"])] is summary else ""
        lines.append(
            f"| {summary['encoder']} | {summary['variant']} | {blr}{mark} | "
            + " | ".join(cells(summary, "val"))
            + f" | {mean(summary, 'untrained_val'):.3f} → {mean(summary, 'adapted_val'):.3f} | "
            + " | ".join(cells(summary, "test"))
            + f" | {summary['untrained_test_2afc']:.3f} → {summary['adapted_test_2afc']:.3f} | "
            + ", ".join(str(c["best_epoch"]) for _, c in sorted(summary["contexts"].items()))
            + f" | {summary.get('wall_s', summary['seconds']):.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", type=Path, help="distort bank manifest.csv (reference crops); needed to run")
    parser.add_argument("--encoder", action="append", default=[], help="NAME=PATH of a pretrained encoder file")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--n-triplets", type=int, default=300, help="triplets per context (2 contexts)")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.1, help="adapt_dps.lr (judge and 1x1 weights)")
    parser.add_argument("--variants", nargs="+", default=["lin", "tune"], choices=["lin", "tune", "scratch"])
    parser.add_argument("--backbone-lrs", nargs="+", type=float, default=[1e-5, 1e-4, 1e-3])
    parser.add_argument("--workers", type=int, default=1, help="parallel runs, one torch thread each")
    parser.add_argument("--table-only", action="store_true", help="only tabulate every run already under --out")
    args = parser.parse_args()

    if args.table_only:
        order = {"lin": 0, "tune": 1, "scratch": 2}
        found = [json.loads(path.read_text()) for path in sorted((args.out / "runs").glob("*/*/*/2afc.json"))]
        found.sort(key=lambda r: (order[r["variant"]], r["encoder"], r["settings"]["backbone_lr"]))
        print(table(found))
        return
    if args.manifest is None:
        parser.error("--manifest is needed unless --table-only")

    args.out.mkdir(parents=True, exist_ok=True)
    triplets = make_triplets(args.manifest, args.out, args.n_triplets)
    encoders = encoder_files(args.encoder, args.out)
    jobs = []
    for variant in args.variants:
        for name, path in encoders.items():
            for backbone_lr in args.backbone_lrs if variant != "lin" else args.backbone_lrs[:1]:
                params = {
                    "epochs": args.epochs,
                    "lr": args.lr,
                    "backbone_lr": backbone_lr,
                    "batch_size": args.batch_size,
                    "synthetic": False,
                }
                run_dir = args.out / "runs" / name / variant / f"blr{backbone_lr:g}"
                jobs.append(
                    {
                        "dir": str(run_dir),
                        "triplets": str(triplets),
                        "encoder": name,
                        "encoder_path": str(path),
                        "variant": variant,
                        "params": params,
                        "threads": 1,
                    }
                )
    with ProcessPoolExecutor(max_workers=args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(run_one, jobs))
    report = table(results)
    (args.out / "table.md").write_text(report + "\n")
    print(report)


if __name__ == "__main__":
    main()
