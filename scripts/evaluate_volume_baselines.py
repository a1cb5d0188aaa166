"""Rule evaluate_volume_baselines: the dataset's table and NRMSE, PSNR and 3D SSIM of every volume."""

from perceptflow.evaluate.volumes.stage import evaluate_volume_baselines
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="evaluate") as run:
    table, scores = evaluate_volume_baselines(
        snakemake.wildcards.vdataset,
        snakemake.params.dataset,
        snakemake.params.preprocess,
        manifest=snakemake.input.manifest,
        table_out=snakemake.output.table,
        scores_out=snakemake.output.scores,
        threads=snakemake.threads,
    )
    run.log_metrics({"n_volumes": len(scores), "n_refs": table.n_refs})
    run.log_artifact(snakemake.output.scores)
