"""Rule extract_features: frozen two-scale features of one dataset into a Zarr store."""

from perceptflow.features.stage import extract_features
from perceptflow.models import pick_device
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="extract") as run:
    summary = extract_features(
        snakemake.wildcards.dataset,
        snakemake.params.dataset,
        snakemake.params.extract,
        manifest=snakemake.input.manifest,
        encoder=snakemake.input.encoder,
        out=snakemake.output.features,
        device=pick_device(),
        threads=snakemake.threads,
        partial_dir=snakemake.params.partial_dir,
        code=snakemake.params.code,
    )
    run.log_store_reference("features", snakemake.output.features, summary)
    run.log_metrics({"n_images": summary["shape"][0], "feature_dim": summary["shape"][1]})
