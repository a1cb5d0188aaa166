"""Rule evaluate_fr_baselines: PSNR, SSIM and the piq baselines of every (reference, image) pair of a dataset."""

from perceptflow.evaluate.stage import evaluate_fr_baselines
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="evaluate") as run:
    evaluate_fr_baselines(
        snakemake.input.table,
        scores_out=snakemake.output.scores,
        skips_out=snakemake.output.skips,
        threads=snakemake.threads,
    )
    run.log_artifact(snakemake.output.scores)
    run.log_artifact(snakemake.output.skips)
