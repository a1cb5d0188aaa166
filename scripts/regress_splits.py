"""Rule regress_splits: reference-separated train/val/test splits shared by every encoder and baseline."""

from perceptflow.regress.stage import regress_splits
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="regress") as run:
    table, splits = regress_splits(
        snakemake.wildcards.dataset,
        snakemake.params.dataset,
        snakemake.params.splits,
        manifest=snakemake.input.manifest,
        splits_out=snakemake.output.splits,
        table_out=snakemake.output.table,
    )
    run.log_metrics({"n_images": len(table.frame), "n_refs": table.n_refs, "n_splits": len(splits)})
    run.log_artifact(snakemake.output.splits)
