"""The quality report: datasets x encoders x scores from workflow results, with uncertainty and its command.

Rows come from each ``results/evaluate/<method>/<dataset>/metrics.json`` (every model and baseline block and every
score mode in it, so rows added by other stages appear without change here). Uncertainty, since a dev split of 49
images is small: NR ridge as median and 5-95 % range over the content splits; FR as the pooled SRCC with a
bootstrap interval over references (whole content groups resampled, as in Efron and Tibshirani, "An Introduction to
the Bootstrap", 1993, ch. 13), from the feature stores and baseline scores the workflow wrote. 2AFC sets (BAPPS,
``results/evaluate/bapps/<dataset>/scores.json``) add ``2afc`` and ``jnd_map`` rows: the mean over subsets in the
value column, each subset's value where the per-type column is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from perceptflow.data.datasets import read_table
from perceptflow.evaluate.stage import FR_BASELINES, feature_distances
from perceptflow.features.fr import read_fr_values
from perceptflow.features.store import read_feature_store
from perceptflow.types import PathLikeStr

COLUMNS = ("dataset", "model", "mode", "srcc", "low", "high", "interval", "per_type", "command")


def bootstrap_srcc(
    scores: np.ndarray, targets: np.ndarray, groups: Sequence[str], *, n_boot: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """5-95 % bootstrap interval of |SRCC| resampling whole content groups with replacement."""
    groups_arr = np.asarray(groups)
    unique = np.unique(groups_arr)
    rows = {g: np.flatnonzero(groups_arr == g) for g in unique}
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_boot):
        picked = np.concatenate([rows[g] for g in rng.choice(unique, size=len(unique), replace=True)])
        if np.ptp(scores[picked]) > 0 and np.ptp(targets[picked]) > 0:
            values.append(abs(spearmanr(scores[picked], targets[picked])[0]))
    return float(np.percentile(values, 5)), float(np.percentile(values, 95))


def metrics_rows(path: PathLikeStr, *, command: str) -> list[dict[str, Any]]:
    """One row per (model, mode) of a metrics.json: SRCC (FR pooled, NR median over splits), per-type SRCC, and the
    NR 5-95 % range over splits; skipped scores become rows whose ``interval`` says why."""
    metrics = json.loads(Path(path).read_text())
    models = {metrics["method"]: metrics, **metrics["baselines"]}
    rows = []
    for model, summary in models.items():
        for mode, block in summary.items():
            if not isinstance(block, Mapping) or not ({"srcc", "srcc_median", "skipped"} & set(block)):
                continue
            row = {"dataset": metrics["dataset"], "model": model, "mode": mode, "command": command}
            if "skipped" in block:
                rows.append({**row, "srcc": np.nan, "interval": f"skipped: {block['skipped']}"})
                continue
            per_split = [s.get("srcc") for s in block.get("per_split", []) if s.get("srcc") is not None]
            if "srcc_median" in block and "srcc" not in block:  # a ridge score (nr_ridge, contrique_fr_ridge)
                low, high = np.percentile(per_split, [5, 95]) if per_split else (np.nan, np.nan)
                row.update(srcc=block["srcc_median"], low=low, high=high, interval=f"5-95% of {len(per_split)} splits")
            else:
                row.update(srcc=block.get("srcc"))
            per_type = {k: v for k, v in (block.get("srcc_per_type") or {}).items() if v is not None}
            if set(per_type) != {"unknown"}:  # a dataset without distortion types has one "unknown" type
                row["per_type"] = ", ".join(f"{k} {v:.3f}" for k, v in sorted(per_type.items()))
            rows.append(row)
    return rows


def fr_bootstrap(
    results: PathLikeStr, method: str, dataset: str, *, fr_distance: str = "l2", n_boot: int = 1000
) -> dict[str, tuple[float, float]]:
    """Bootstrap intervals over references of the FR SRCC of ``method``, its random-init baseline (keys: the model
    for the pooled distance, ``<model>:fr_<name>`` for a stored ``fr/<name>`` distance such as the LPIPS-style one)
    and every FR baseline on ``dataset``, from a results folder of the workflow; {} without the dataset's table."""
    root = Path(results)
    if not (root / "regress" / dataset / "table.csv").is_file():
        return {}
    table = read_table(root / "regress" / dataset / "table.csv")
    targets = table.frame["target"].to_numpy(float)
    groups = list(table.frame["ref_id"])
    scores: dict[str, np.ndarray] = {}
    for model in (method, "random_init"):
        store = root / "extract" / model / f"{dataset}.zarr"
        if store.exists():
            distances = feature_distances(read_feature_store(store), table, fr_distance)
            if distances is not None:
                scores[model] = distances
            scores.update({f"{model}:fr_{name}": values for name, values in read_fr_values(store).items()})
    fr_path = root / "evaluate" / "baselines" / dataset / "fr_scores.csv"
    if fr_path.is_file():
        fr = pd.read_csv(fr_path)
        scores.update({name: fr[name].to_numpy(float) for name in FR_BASELINES if name in fr.columns and len(fr)})
    return {name: bootstrap_srcc(values, targets, groups, n_boot=n_boot) for name, values in scores.items()}


def quality_table(runs: Sequence[tuple[PathLikeStr, str]], *, n_boot: int = 1000) -> pd.DataFrame:
    """The quality table over ``(results folder, command)`` runs: every metrics.json row, FR rows with bootstrap
    intervals over references."""
    rows: list[dict[str, Any]] = []
    for results, command in runs:
        for path in sorted(Path(results).glob("evaluate/*/*/metrics.json")):
            method, dataset = path.parent.parent.name, path.parent.name
            found = metrics_rows(path, command=f"{command}  # {path}")
            intervals = fr_bootstrap(results, method, dataset, n_boot=n_boot)
            for row in found:
                key = row["model"] if row["mode"] == "fr_zero_shot" else f"{row['model']}:{row['mode']}"
                if key in intervals:  # pooled FR scores: fr_zero_shot and the stored fr/<name> distances
                    row["low"], row["high"] = intervals[key]
                    row["interval"] = f"5-95% bootstrap over references ({n_boot})"
            rows += found
        for path in sorted(Path(results).glob("evaluate/bapps/*/scores.json")):
            rows += twoafc_rows(path, command=f"{command}  # {path}")
        evaluated = {row["dataset"] for row in rows}
        for fr_path in sorted(Path(results).glob("evaluate/baselines/*/fr_scores.csv")):
            if fr_path.parent.name not in evaluated:
                rows += baseline_rows(results, fr_path.parent.name, command=f"{command}  # {fr_path}", n_boot=n_boot)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return frame.drop_duplicates(subset=["dataset", "model", "mode", "command"]).reset_index(drop=True)


def twoafc_rows(path: PathLikeStr, *, command: str) -> list[dict[str, Any]]:
    """``2afc`` and ``jnd_map`` rows of a BAPPS dataset's scores.json (`perceptflow.evaluate.bapps`), one per model."""
    scores = json.loads(Path(path).read_text())
    rows = []
    for mode in ("twoafc", "jnd_map"):
        for model, block in scores[mode].items():
            per_subset = block["per_subset"]
            rows.append(
                {
                    "dataset": scores["dataset"],
                    "model": model,
                    "mode": "2afc" if mode == "twoafc" else mode,
                    "srcc": block["mean"],
                    "interval": f"mean of {len(per_subset)} subsets",
                    "per_type": ", ".join(f"{k} {v:.3f}" for k, v in sorted(per_subset.items())),
                    "command": command,
                }
            )
    return rows


def baseline_rows(results: PathLikeStr, dataset: str, *, command: str, n_boot: int = 1000) -> list[dict[str, Any]]:
    """FR baseline rows of a dataset no encoder was evaluated on yet (``evaluate_fr_baselines`` output alone):
    pooled |SRCC|, bootstrap interval over references, and the recorded skips."""
    root = Path(results)
    table = read_table(root / "regress" / dataset / "table.csv")
    targets = table.frame["target"].to_numpy(float)
    fr = pd.read_csv(root / "evaluate" / "baselines" / dataset / "fr_scores.csv")
    skips_path = root / "evaluate" / "baselines" / dataset / "fr_skips.json"
    skips = json.loads(skips_path.read_text()) if skips_path.is_file() else {}
    intervals = fr_bootstrap(results, "", dataset, n_boot=n_boot)
    base = {"dataset": dataset, "mode": "fr_zero_shot", "command": command}
    rows: list[dict[str, Any]] = [
        {**base, "model": name, "srcc": np.nan, "interval": f"skipped: {reason}"} for name, reason in skips.items()
    ]
    for name in (n for n in FR_BASELINES if n in fr.columns and len(fr)):
        low, high = intervals[name]
        srcc = abs(spearmanr(fr[name].to_numpy(float), targets)[0])
        rows.append(
            {
                **base,
                "model": name,
                "srcc": srcc,
                "low": low,
                "high": high,
                "interval": f"5-95% bootstrap over references ({n_boot})",
            }
        )
    return rows


def quality_markdown(table: pd.DataFrame) -> str:
    """The table as Markdown (one row per number, with its interval, per-type SRCC and command)."""
    lines = [
        "| dataset | model | score | SRCC (2AFC, JND mAP) | interval | per distortion type (subset) | command |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in table.itertuples(index=False):
        srcc = "—" if pd.isna(row.srcc) else f"{row.srcc:.3f}"
        interval = str(row.interval) if isinstance(row.interval, str) else ""
        if not pd.isna(row.low):
            interval = f"[{row.low:.3f}, {row.high:.3f}] {interval}"
        per_type = row.per_type if isinstance(row.per_type, str) else ""
        lines.append(
            f"| {row.dataset} | {row.model} | {row.mode} | {srcc} | {interval} | {per_type} | `{row.command}` |"
        )
    return "\n".join(lines) + "\n"


def plot_quality(table: pd.DataFrame, path: PathLikeStr) -> None:
    """Horizontal bars of SRCC per (dataset, model, score) with their intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = table.dropna(subset=["srcc"])
    labels = [f"{r.dataset} · {r.model} · {r.mode}" for r in shown.itertuples()]
    low = (shown["srcc"] - shown["low"].fillna(shown["srcc"])).clip(lower=0)
    high = (shown["high"].fillna(shown["srcc"]) - shown["srcc"]).clip(lower=0)
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(shown) + 1.2))
    ax.barh(range(len(shown)), shown["srcc"], xerr=[low, high], color="tab:blue", alpha=0.8)
    ax.set_yticks(range(len(shown)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("|SRCC| with human scores")
    ax.set_xlim(0, 1)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
