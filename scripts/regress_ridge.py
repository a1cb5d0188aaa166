"""Rule regress_ridge: ridge from frozen features to quality, alpha chosen on each split's validation rows."""

from perceptflow.regress.stage import alphas_frame, ridge_on_store
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="regress") as run:
    result = ridge_on_store(
        snakemake.input.features,
        snakemake.input.table,
        snakemake.input.splits,
        alphas=snakemake.params.alphas,
    )
    result.predictions.to_csv(snakemake.output.predictions, index=False)
    alphas_frame(result).to_csv(snakemake.output.alphas, index=False)
    for split, alpha in result.alphas.items():
        run.log_metrics({"alpha": alpha}, step=split)
    run.log_artifact(snakemake.output.predictions)
