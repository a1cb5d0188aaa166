"""The ``adapt_dps`` stage: adapt a DPS metric per context on the workflow's DPS triplets and score it held out.

Reads the triplet CSV of ``distort_dps_triplets`` (`perceptflow.dps.twoafc.load_triplets`), splits each
context's triplets into train / validation / held-out test (seeded; by triplet or by reference image), adapts one
`PerceptualDistance` per context with `perceptflow.dps.adapt.adapt` (best epoch chosen on validation), and writes
the metric weights, the per-epoch history and the untrained-vs-adapted 2AFC on the held-out triplets.
"""

# Over 300 lines: the two DPS rules' entries and the metric file they write and read back.

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from perceptflow.dps.adapt import adapt
from perceptflow.dps.judge import JudgeNet
from perceptflow.dps.spec import SPLITS, AdaptSpec, split_indices, triplets_from_frame
from perceptflow.dps.synthetic import synthetic_srcc
from perceptflow.dps.triplets import Triplets, pooled_triplets, score_pooled, score_triplets
from perceptflow.dps.twoafc import feature_distances, load_triplets, pixel_distances, score_triplet_table
from perceptflow.metric.distance import PerceptualDistance
from perceptflow.metric.variants import check_variant
from perceptflow.models import Encoder, build_encoder, load_encoder
from perceptflow.models.encoder_file import encoder_from_weights
from perceptflow.types import PathLikeStr

log = logging.getLogger(__name__)

METRIC_FORMAT = "perceptflow.dps_metric.v1"


def load_pretrained(path: PathLikeStr, arch: str = "resnet18") -> Encoder:
    """A perceptflow encoder file (`models.load_encoder`) or a local torchvision state-dict file; never a download.

    Raises:
        FileNotFoundError: no such file (naming it).
        ValueError: the file is neither format (naming it).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"pretrained encoder file not found: {path}")
    try:
        encoder, _ = load_encoder(path)
        return encoder
    except (KeyError, ValueError, TypeError, RuntimeError) as perceptflow_error:
        try:
            return encoder_from_weights(path, arch)
        except (KeyError, ValueError, TypeError, RuntimeError, AttributeError) as weights_error:
            raise ValueError(
                f"{path}: neither a perceptflow encoder file ({perceptflow_error}) nor a {arch} state dict "
                f"({weights_error})"
            ) from weights_error


def adapt_context(
    encoder: Encoder,
    variant: str,
    data: Mapping[str, Triplets],
    spec: AdaptSpec,
    *,
    device: torch.device | None = None,
) -> tuple[PerceptualDistance, JudgeNet, dict[str, Any]]:
    """Adapt one context and score it.

    The untrained metric (``baseline``: the channel sum over the same layers of ``encoder``) and ``variant``
    adapted on ``data['train']`` (best epoch chosen on ``data['val']``) are both scored on ``data['val']`` and the
    held-out ``data['test']``. With a frozen backbone the pooled layer differences are computed once.

    Returns:
        ``(metric, judge, result)``; result has ``untrained_val``, ``untrained_test``, ``adapted_val``,
        ``adapted_test``, ``best_epoch`` (-1: the untrained state was kept) and ``history``.
    """
    device = device or torch.device("cpu")
    untrained = PerceptualDistance("baseline", encoder, layers=spec.layers).to(device)
    pooled = {name: pooled_triplets(untrained, data[name]) for name in SPLITS}
    judges = {name: data[name].judge for name in SPLITS}
    result: dict[str, Any] = {f"untrained_{n}": score_pooled(untrained, pooled[n], judges[n]) for n in ("val", "test")}
    del untrained
    torch.manual_seed(spec.seed)  # the judge's initial weights
    metric = PerceptualDistance(variant, encoder, layers=spec.layers, dropout=spec.dropout, seed=spec.seed).to(device)
    judge = JudgeNet().to(device)
    history: list[dict[str, float]] = []
    if variant != "baseline":
        frozen = metric.frozen_backbone
        history = adapt(
            metric,
            judge,
            data["train"],
            spec.epochs,
            lr=spec.lr,
            backbone_lr=spec.backbone_lr,
            batch_size=spec.batch_size,
            seed=spec.seed,
            sync_loss=spec.sync == "auto",
            sync_epochs=spec.epochs if spec.sync == "always" else 0,
            decay_epochs=spec.decay_epochs,
            validation=data["val"],
            pooled=pooled["train"] if frozen else None,
            val_pooled=pooled["val"] if frozen else None,
        )
    for name in ("val", "test"):
        if metric.frozen_backbone:
            result[f"adapted_{name}"] = score_pooled(metric, pooled[name], judges[name])
        else:
            result[f"adapted_{name}"] = score_triplets(metric, data[name])
    selected = [int(row["epoch"]) for row in history if row.get("selected")]
    result["best_epoch"] = selected[0] if selected else -1
    result["history"] = history
    return metric, judge, result


def _trained_state(metric: PerceptualDistance) -> dict[str, torch.Tensor]:
    """What adaptation changed: the 1x1 weights, plus the whole backbone for ``tune`` and ``scratch``."""
    state = metric.state_dict()
    keep = state if not metric.frozen_backbone else {k: v for k, v in state.items() if k.startswith("lins.")}
    return {k: v.detach().cpu() for k, v in keep.items()}


def load_adapted_metric(path: PathLikeStr, context: int | str) -> tuple[PerceptualDistance, JudgeNet]:
    """The adapted metric and judge of one context from a ``metric.pt`` (loaded with ``weights_only=True``).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not an adapted-metric file, or no such context (naming the file and the contexts it has).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"adapted DPS metric file not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch.load raises many types on foreign files
        raise ValueError(f"{path}: not an adapted DPS metric file (cannot be loaded: {error})") from error
    if not isinstance(payload, dict) or payload.get("format") != METRIC_FORMAT:
        raise ValueError(f"{path}: not an adapted DPS metric file (format {METRIC_FORMAT})")
    key = str(context)
    if key not in payload["contexts"]:
        raise ValueError(f"{path}: no context {key!r}; contexts: {sorted(payload['contexts'])}")
    encoder = build_encoder(payload["arch"])
    encoder.load_state_dict(payload["backbone"])
    metric = PerceptualDistance(
        payload["variant"], encoder, layers=tuple(payload["layers"]), dropout=float(payload["dropout"])
    )
    metric.load_state_dict(payload["contexts"][key]["metric"], strict=not metric.frozen_backbone)
    judge = JudgeNet()
    judge.load_state_dict(payload["contexts"][key]["judge"])
    return metric.eval(), judge.eval()


__all__ = ["METRIC_FORMAT", "adapt_context", "adapt_dps", "evaluate_dps_2afc", "load_adapted_metric", "load_pretrained"]


def adapt_dps(
    triplets_csv: PathLikeStr,
    encoder_path: PathLikeStr,
    *,
    encoder_name: str,
    variant: str,
    params: Mapping[str, Any],
    metric_out: PathLikeStr,
    history_out: PathLikeStr,
    scores_out: PathLikeStr,
    manifest: PathLikeStr | None = None,
    fr_datasets: Sequence[str] = (),
    device: torch.device | None = None,
) -> dict[str, Any]:
    """The ``adapt_dps`` rule: adapt ``variant`` over ``encoder_path`` for every context of ``triplets_csv``.

    Writes ``metric_out`` (weights, `load_adapted_metric`), ``history_out`` (one row per context and epoch) and
    ``scores_out`` (JSON: untrained vs adapted 2AFC per context on held-out and validation triplets, split sizes);
    returns the JSON's content. With ``manifest`` (the distort bank), each context's adapted metric and the
    untrained one are also scored on the synthetic set: SRCC of the distance to the reference vs the level;
    ``fr_datasets`` names the config datasets built from that bank, whose full-reference rows of the comparison
    table these scores join (``score_fr_srcc``: untrained, and adapted averaged over contexts).
    """
    check_variant(variant)
    spec = AdaptSpec.from_config(params)
    table = load_triplets(triplets_csv)
    if spec.split_by == "reference" and "ref_id" not in table.columns:
        raise ValueError(f"{triplets_csv}: adapt_dps.split_by: reference needs a 'ref_id' column")
    encoder = load_pretrained(encoder_path)
    device = device or torch.device("cpu")
    if not spec.synthetic:
        manifest = None
    untrained_synthetic = None
    if manifest is not None:
        baseline = PerceptualDistance("baseline", encoder, layers=spec.layers).to(device)
        untrained_synthetic = synthetic_srcc(baseline, manifest)
        del baseline
    contexts: dict[str, Any] = {}
    states: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    for context, frame in table.groupby("context", sort=True):
        frame = frame.reset_index(drop=True)
        groups = list(frame["ref_id"].astype(str)) if spec.split_by == "reference" else None
        index = split_indices(len(frame), spec.fractions, spec.seed + int(context), groups)
        data = {name: triplets_from_frame(frame.iloc[index[name]]) for name in SPLITS}
        metric, judge, result = adapt_context(encoder, variant, data, spec, device=device)
        ranking = str(frame["ranking"].iloc[0]) if "ranking" in frame else ""
        key = str(context)
        contexts[key] = {
            "ranking": ranking,
            "sizes": {name: len(data[name]) for name in SPLITS},
            "test_triplet_ids": list(frame["triplet_id"].iloc[index["test"]]),
            **{k: v for k, v in result.items() if k != "history"},
        }
        if manifest is not None:
            contexts[key]["untrained_synthetic_srcc"] = untrained_synthetic
            contexts[key]["adapted_synthetic_srcc"] = synthetic_srcc(metric, manifest)
        states[key] = {"ranking": ranking, "metric": _trained_state(metric), "judge": judge.state_dict()}
        rows += [{"context": int(context), **row} for row in result["history"]]
        log.info(
            "context %s (%s): held-out 2AFC untrained %.4f -> adapted %.4f (best epoch %d)",
            key, ranking, result["untrained_test"], result["adapted_test"], result["best_epoch"],
        )  # fmt: skip
    summary = {
        "encoder": encoder_name,
        "variant": variant,
        "arch": encoder.arch,
        "settings": {**asdict(spec), "layers": list(spec.layers), "fractions": list(spec.fractions)},
        "untrained_test_2afc": float(np.mean([c["untrained_test"] for c in contexts.values()])),
        "adapted_test_2afc": float(np.mean([c["adapted_test"] for c in contexts.values()])),
        "seconds": time.perf_counter() - started,
        # Rows of the report's comparison table (evaluate.comparison): held-out 2AFC, untrained and adapted.
        "dataset": "dps_heldout",
        "score_2afc": {
            f"{encoder_name}/dps_untrained": float(np.mean([c["untrained_test"] for c in contexts.values()])),
            f"{encoder_name}/dps_{variant}": float(np.mean([c["adapted_test"] for c in contexts.values()])),
        },
        "contexts": contexts,
    }
    if manifest is not None and fr_datasets:
        summary["fr_datasets"] = list(fr_datasets)
        summary["score_fr_srcc"] = {
            f"{encoder_name}/dps_untrained": untrained_synthetic,
            f"{encoder_name}/dps_{variant}": float(np.mean([c["adapted_synthetic_srcc"] for c in contexts.values()])),
        }
    payload = {
        "format": METRIC_FORMAT,
        "encoder": encoder_name,
        "variant": variant,
        "arch": encoder.arch,
        "layers": list(spec.layers),
        "dropout": spec.dropout,
        "backbone": {k: v.cpu() for k, v in encoder.state_dict().items()},
        "contexts": states,
    }
    for path in (metric_out, history_out, scores_out):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, metric_out)
    pd.DataFrame(rows).to_csv(history_out, index=False)
    Path(scores_out).write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def evaluate_dps_2afc(
    triplets_csv: PathLikeStr,
    encoders: Mapping[str, PathLikeStr],
    *,
    out: PathLikeStr,
    fr_distance: str = "l2",
    threads: int = 1,
    device: torch.device | None = None,
) -> dict[str, Any]:
    """Score PSNR, SSIM and every encoder on the triplet set; write the result as JSON to ``out``."""
    triplets = load_triplets(triplets_csv)
    distances = pixel_distances(triplets, threads=threads)
    for name, path in encoders.items():
        distances[name] = feature_distances(triplets, path, metric=fr_distance, device=device)
    rankings = triplets.drop_duplicates("context")
    result = {
        "n_triplets": len(triplets),
        "n_contexts": int(triplets["context"].nunique()),
        "n_refs": int(triplets["ref_id"].nunique()) if "ref_id" in triplets else None,
        "fr_distance": fr_distance,
        "encoders": list(encoders),
        "rankings": (
            {str(c): r for c, r in zip(rankings["context"], rankings["ranking"], strict=True)}
            if "ranking" in triplets
            else {}
        ),
        **score_triplet_table(triplets, distances),
    }
    Path(out).write_text(json.dumps(result, indent=2) + "\n")
    log.info("DPS 2AFC scores: %s", result["score_2afc"])
    return result
