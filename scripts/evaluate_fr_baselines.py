"""Rule evaluate_fr_baselines: PSNR and SSIM of every (reference, image) pair of a dataset."""

import pandas as pd

from perceptflow.data import read_table
from perceptflow.evaluate.stage import compute_fr_baselines
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="evaluate") as run:
    scores = compute_fr_baselines(read_table(snakemake.input.table), threads=snakemake.threads)
    if scores is None:  # no references: an empty table records that, evaluate_metrics reports the skip
        scores = pd.DataFrame(columns=["psnr", "ssim", "image_id"])
    scores.to_csv(snakemake.output.scores, index=False)
    run.log_artifact(snakemake.output.scores)
