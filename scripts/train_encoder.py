"""Rule train_encoder: self-supervised training of one method on the distortion bank.

With ``resources.gpu`` above 1 the training runs under ``torchrun`` (one process per GPU, DDP); this process
keeps the MLflow run and logs the history rank 0 wrote.
"""

import pandas as pd

from perceptflow.ssl.launch import train_with_torchrun
from perceptflow.ssl.stage import train_from_manifest
from perceptflow.tracking.snakemake import rule_run

gpus = int(snakemake.resources.get("gpu", 0) or 0)
with rule_run(snakemake, stage="train") as run:
    options = dict(
        method=snakemake.wildcards.method,
        manifest=snakemake.input.manifest,
        params=snakemake.params.train,
        checkpoint_dir=snakemake.params.checkpoint_dir,
        encoder_out=snakemake.output.encoder,
    )
    if gpus > 1:
        history = train_with_torchrun(
            gpus,
            history_out=f"{snakemake.params.checkpoint_dir}/history.json",
            threads=max(1, snakemake.threads // gpus),
            **options,
        )
        for row in history:
            run.log_metrics(row, step=row["epoch"])
    else:
        history = train_from_manifest(
            options.pop("method"),
            options.pop("manifest"),
            options.pop("params"),
            threads=snakemake.threads,
            on_epoch=lambda row: run.log_metrics(row, step=row["epoch"]),
            **options,
        )
    run.set_tags({"perceptflow.train.processes": gpus if gpus > 1 else 1})
    pd.DataFrame(history).to_csv(snakemake.output.history, index=False)
    run.log_artifact(snakemake.output.history)
    run.log_artifact(snakemake.output.encoder, artifact_path="encoder")
