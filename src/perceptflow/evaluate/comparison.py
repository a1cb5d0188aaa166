"""The report stage: one comparison table and plot over every trained method x dataset, plus DPS 2AFC scores.

The table is long-form, one row per (dataset, model, mode): ``mode`` is ``nr_ridge`` (median over splits),
``fr_zero_shot`` or ``2afc`` (DPS context triplets, dataset ``dps``; 2AFC by severity on a 3D dataset's volumes).
Columns: ``srcc``, ``plcc`` (and the other correlation keys of metrics.json), ``2afc``, ``kind`` (``method`` for
trained methods, ``baseline`` for PSNR, SSIM, NRMSE, 3D SSIM and the random-init encoder) and
``srcc_gain_vs_random_init`` (what training adds, on the same splits).

The workflow-level copy of the table goes to a *parent* MLflow run per workflow execution (`log_to_parent_run`):
one run named ``workflow:<execution id>`` tagged ``perceptflow.parent=true``, found again by its tags, so every
method's stage runs and the comparison can be found from one place.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from perceptflow.types import PathLikeStr

log = logging.getLogger(__name__)
#: Name of the random-init baseline model in metrics tables.
RANDOM_INIT = "random_init"
#: Tag marking the per-execution parent run.
PARENT_TAG = "perceptflow.parent"
#: ``perceptflow.rule`` tag of the parent run (it starts with its stage, ``report``, like every rule's run).
PARENT_RULE = "report_parent"


def _metrics_rows(metrics_files: Sequence[PathLikeStr]) -> list[dict]:
    rows = []
    for path in metrics_files:
        metrics = json.loads(Path(path).read_text())
        for row in metrics["table"]:
            is_baseline = row["model"] != metrics["method"]
            rows.append({**row, "kind": "baseline" if is_baseline else "method"})
    return rows


def _kind(model: str, methods: set[str]) -> str:
    """``method`` for a trained method and the DPS metrics over it (``<encoder>/dps_<variant>``), else ``baseline``."""
    return "method" if model.split("/", 1)[0] in methods else "baseline"


def _twoafc_rows(path: PathLikeStr, methods: set[str]) -> list[dict]:
    scores = json.loads(Path(path).read_text())
    if "score_2afc" not in scores:
        raise ValueError(f"{path}: no 'score_2afc' mapping (expected the evaluate_dps_2afc output)")
    rows = [
        {
            "dataset": scores.get("dataset", "dps"),  # adapt_dps files: "dps_heldout"
            "model": model,
            "mode": "2afc",
            "2afc": float(score),
            "kind": _kind(model, methods),
        }
        for model, score in scores["score_2afc"].items()
    ]
    # adapt_dps: the LPIPS-style distance as a full-reference score on the distort bank (same images and target as
    # the bank datasets' fr_zero_shot rows: every distorted image, distance to its reference vs the level).
    for dataset in scores.get("fr_datasets", []):
        for model, value in scores.get("score_fr_srcc", {}).items():
            kind = "method" if model.split("/", 1)[0] in methods else "baseline"
            rows.append(
                {"dataset": dataset, "model": model, "mode": "fr_zero_shot", "srcc": float(value), "kind": kind}
            )
    return rows


def comparison_table(metrics_files: Sequence[PathLikeStr], twoafc_files: Sequence[PathLikeStr] = ()) -> pd.DataFrame:
    """Rows of every metrics.json's ``table`` (model x dataset x mode) and of the DPS 2AFC scores, if given.

    Baseline rows (PSNR, SSIM, random init) repeat once per method; they are kept once per dataset. Rows are
    sorted by dataset, mode, kind (methods first) and model.

    Raises:
        ValueError: nothing to summarise, or a 2AFC file without ``score_2afc``.
    """
    rows = _metrics_rows(metrics_files)
    methods = {row["model"] for row in rows if row["kind"] == "method"}
    for path in twoafc_files:
        rows.extend(_twoafc_rows(path, methods))
    table = pd.DataFrame(rows)
    if table.empty:
        raise ValueError("no metrics rows to summarise")
    table = table.drop_duplicates(["dataset", "model", "mode"]).reset_index(drop=True)
    for column in ("srcc", "plcc", "2afc"):
        if column not in table:
            table[column] = float("nan")
    table["srcc_gain_vs_random_init"] = _gain_vs_random_init(table)
    order = table["kind"].map({"method": 0, "baseline": 1})
    return (
        table.assign(_order=order)
        .sort_values(["dataset", "mode", "_order", "model"])
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def _gain_vs_random_init(table: pd.DataFrame) -> pd.Series:
    """SRCC (2AFC for the ``2afc`` mode) of each method row minus the random-init row of the same dataset/mode."""
    value = table["srcc"].where(table["mode"] != "2afc", table["2afc"])
    reference = table.assign(_value=value)[table["model"] == RANDOM_INIT].set_index(["dataset", "mode"])["_value"]
    keys = list(zip(table["dataset"], table["mode"], strict=True))
    baseline = pd.Series([reference.get(key, float("nan")) for key in keys], index=table.index)
    return (value - baseline).where(table["kind"] == "method")


def method_matrix(table: pd.DataFrame, metric: str = "srcc", mode: str = "nr_ridge") -> pd.DataFrame:
    """Wide view: one row per model, one column per dataset, ``metric`` values of ``mode`` rows."""
    part = table[table["mode"] == mode]
    return part.pivot(index="model", columns="dataset", values=metric)


def plot_comparison(table: pd.DataFrame, path: PathLikeStr) -> None:
    """Grouped bars per model, one panel per (dataset, mode): SRCC, or the 2AFC score for DPS triplets."""
    panels = list(table.groupby(["dataset", "mode"], sort=True))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.6), squeeze=False)
    for ax, ((dataset, mode), part) in zip(axes[0], panels, strict=True):
        metric = "2afc" if mode == "2afc" else "srcc"
        colours = ["tab:blue" if kind == "method" else "tab:gray" for kind in part["kind"]]
        values = part[metric].fillna(0.0)
        ax.bar(part["model"], values, color=colours)
        ax.set_title(f"{dataset}: {mode}")
        ax.set_ylabel("2AFC score" if metric == "2afc" else "SRCC (higher = better agreement)")
        ax.set_ylim(min(0.0, float(values.min()) - 0.05), 1.0)
        ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def log_to_parent_run(
    paths: Sequence[PathLikeStr], *, execution_id: str, experiment_id: str, tracking_uri: str | None = None
) -> str:
    """Log ``paths`` as artifacts of the execution's parent run, created on first use; returns its run id.

    The parent run is found by the tags ``perceptflow.parent=true`` and ``perceptflow.execution_id``, so a rerun of
    the report in the same execution reuses it. It is ended FINISHED right away: it holds artifacts, never a
    running job, so it cannot be left RUNNING by a killed rule.
    """
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    query = f"tags.`{PARENT_TAG}` = 'true' and tags.`perceptflow.execution_id` = '{execution_id}'"
    found = client.search_runs([experiment_id], filter_string=query, max_results=1)
    if found:
        run_id = found[0].info.run_id
    else:
        tags = {
            PARENT_TAG: "true",
            "perceptflow.execution_id": execution_id,
            "perceptflow.stage": "report",
            "perceptflow.rule": PARENT_RULE,
        }
        run_id = client.create_run(experiment_id, tags=tags, run_name=f"workflow:{execution_id}").info.run_id
    for path in paths:
        client.log_artifact(run_id, str(path), artifact_path="comparison")
    client.set_terminated(run_id, status="FINISHED")
    log.info("comparison logged to parent run %s (execution %s)", run_id, execution_id)
    return run_id


def write_parent_run_file(path: PathLikeStr, *, run_id: str | None, experiment: str | None) -> None:
    """Record the parent run like a rule's run file (``stage``, ``rule``, ``run_id``, ``experiment``)."""
    record: dict[str, Any] = {
        "stage": "report",
        "rule": PARENT_RULE,
        "run_id": run_id,
        "experiment": experiment,
        "wildcards": {},
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(record, indent=2) + "\n")
