"""Rule distort_volume_gallery: three orthogonal slices of one reference under every configured artefact, levels 1-5."""

from perceptflow.distortions.medical.stage import distort_volume_gallery
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="distort") as run:
    distort_volume_gallery(snakemake.params.volumes, out=snakemake.output.gallery)
    run.log_artifact(snakemake.output.gallery)
