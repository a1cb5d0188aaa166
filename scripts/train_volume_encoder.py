"""Rule train_volume_encoder: self-supervised training of one 3D method on the volume bank (resumes from its
checkpoint)."""

import pandas as pd

from perceptflow.ssl.volumes.stage import train_volume_encoder
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="train") as run:
    history = train_volume_encoder(
        snakemake.wildcards.vmethod,
        snakemake.input.manifest,
        snakemake.params.train,
        checkpoint_dir=snakemake.params.checkpoint_dir,
        encoder_out=snakemake.output.encoder,
        threads=snakemake.threads,
        on_epoch=lambda row: run.log_metrics(row, step=row["epoch"]),
    )
    run.log_history(history)  # epochs trained before a kill and resume, too
    pd.DataFrame(history).to_csv(snakemake.output.history, index=False)
    run.log_artifact(snakemake.output.history)
    run.log_artifact(snakemake.output.encoder, artifact_path="encoder")
