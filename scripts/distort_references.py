"""Rule distort_references: reference crops and the (type, level) distortion bank, with a manifest."""

from perceptflow.distortions.stage import distort_references
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="distort") as run:
    manifest = distort_references(
        snakemake.params.distort,
        out_dir=snakemake.output.images,
        manifest_path=snakemake.output.manifest,
        threads=snakemake.threads,
    )
    run.log_metrics({"n_images": len(manifest), "n_refs": manifest["ref_id"].nunique()})
    run.log_artifact(snakemake.output.manifest)
