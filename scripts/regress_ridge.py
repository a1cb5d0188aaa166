"""Rule regress_ridge: ridge from frozen features to quality, alpha chosen on each split's validation rows."""

from perceptflow.regress.stage import regress_ridge
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="regress") as run:
    result = regress_ridge(
        snakemake.input.features,
        snakemake.input.table,
        snakemake.input.splits,
        alphas=snakemake.params.alphas,
        predictions_out=snakemake.output.predictions,
        alphas_out=snakemake.output.alphas,
    )
    for split, alpha in result.alphas.items():
        run.log_metrics({"alpha": alpha}, step=split)
    run.log_artifact(snakemake.output.predictions)
