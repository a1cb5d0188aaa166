"""Rule adapt_dps: adapt a DPS metric variant over one pretrained encoder to every DPS context; held-out 2AFC."""

import torch

from perceptflow.dps.stage import adapt_dps
from perceptflow.models import pick_device
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="adapt_dps") as run:
    torch.set_num_threads(snakemake.threads)
    summary = adapt_dps(
        snakemake.input.triplets,
        snakemake.input.encoder,
        encoder_name=snakemake.wildcards.encoder,
        variant=snakemake.wildcards.variant,
        params=snakemake.params.adapt,
        metric_out=snakemake.output.metric,
        history_out=snakemake.output.history,
        scores_out=snakemake.output.scores,
        manifest=snakemake.input.manifest,
        fr_datasets=snakemake.params.fr_datasets,
        device=pick_device(),
    )
    metrics = {"untrained_test_2afc": summary["untrained_test_2afc"], "adapted_test_2afc": summary["adapted_test_2afc"]}
    for context, result in summary["contexts"].items():
        for key in ("untrained_test", "adapted_test", "untrained_val", "adapted_val", "best_epoch"):
            metrics[f"context{context}.{key}"] = result[key]
        for key in ("untrained_synthetic_srcc", "adapted_synthetic_srcc"):
            if key in result:
                metrics[f"context{context}.{key}"] = result[key]
    run.log_metrics(metrics)
    for path in (snakemake.output.scores, snakemake.output.history, snakemake.output.metric):
        run.log_artifact(path)
