"""Rule regress_splits: reference-separated train/val/test splits shared by every encoder and baseline."""

from perceptflow.data import load_dataset
from perceptflow.regress.stage import make_splits
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="regress") as run:
    table = load_dataset(
        snakemake.wildcards.dataset, snakemake.params.dataset, synthetic_manifest=snakemake.input.manifest
    )
    splits = make_splits(
        table, **snakemake.params.splits, splits_out=snakemake.output.splits, table_out=snakemake.output.table
    )
    run.log_metrics({"n_images": len(table.frame), "n_refs": table.n_refs, "n_splits": len(splits)})
    run.log_artifact(snakemake.output.splits)
