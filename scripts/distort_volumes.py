"""Rule distort_volumes: preprocessed reference volumes and their 3D artefacts, a manifest and skipped.csv."""

from perceptflow.distortions.medical.stage import distort_volumes
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="distort") as run:
    manifest, skipped = distort_volumes(
        snakemake.params.volumes,
        out_dir=snakemake.output.volumes,
        manifest_path=snakemake.output.manifest,
        skipped_path=snakemake.output.skipped,
        threads=snakemake.threads,
    )
    run.log_metrics({"n_volumes": len(manifest), "n_refs": manifest["ref_id"].nunique(), "n_skipped": len(skipped)})
    run.log_artifact(snakemake.output.manifest)
    run.log_artifact(snakemake.output.skipped)
