"""Rule distort_gallery: a labelled grid of one reference under the configured types at all five levels."""

from perceptflow.distortions.stage import distort_gallery
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="distort") as run:
    distort_gallery(snakemake.params.distort, out=snakemake.output.gallery)
    run.log_artifact(snakemake.output.gallery)
