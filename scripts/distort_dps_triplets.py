"""Rule distort_dps_triplets: a DPS 2AFC triplet set (ref, p0, p1, judge) at 64x64 from the bank's references."""

from perceptflow.distortions.dps.stage import distort_dps_triplets
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="distort") as run:
    triplets = distort_dps_triplets(
        snakemake.params.dps,
        manifest=snakemake.input.manifest,
        out_dir=snakemake.output.images,
        csv_path=snakemake.output.triplets,
        threads=snakemake.threads,
    )
    run.log_metrics({"n_triplets": len(triplets), "n_contexts": triplets["context"].nunique()})
    run.log_artifact(snakemake.output.triplets)
