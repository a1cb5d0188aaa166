"""Rule train_encoder: self-supervised training of one method on the distortion bank.

With ``resources.gpu`` above 1 the training runs under ``torchrun`` (one process per GPU, DDP); this process
keeps the MLflow run and logs the history rank 0 wrote.
"""

import pandas as pd

from perceptflow.ssl.stage import train_encoder
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="train") as run:
    gpus = int(snakemake.resources.get("gpu", 0) or 0)
    history = train_encoder(
        method=snakemake.wildcards.method,
        manifest=snakemake.input.manifest,
        params=snakemake.params.train,
        checkpoint_dir=snakemake.params.checkpoint_dir,
        encoder_out=snakemake.output.encoder,
        gpus=gpus,
        threads=snakemake.threads,
        on_epoch=lambda row: run.log_metrics(row, step=row["epoch"]),
    )
    run.set_tags({"perceptflow.train.processes": max(1, gpus)})
    run.log_history(history)  # epochs trained before a kill and resume, too
    pd.DataFrame(history).to_csv(snakemake.output.history, index=False)
    run.log_artifact(snakemake.output.history)
    run.log_artifact(snakemake.output.encoder, artifact_path="encoder")
