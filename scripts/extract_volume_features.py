"""Rule extract_volume_features: sliding-window pooled features of one 3D dataset into a Zarr store."""

from perceptflow.features.volumes.stage import extract_volume_features
from perceptflow.models import pick_device
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="extract") as run:
    summary = extract_volume_features(
        snakemake.wildcards.vdataset,
        snakemake.params.dataset,
        snakemake.params.extract,
        snakemake.params.preprocess,
        manifest=snakemake.input.manifest,
        encoder=snakemake.input.encoder,
        out=snakemake.output.features,
        device=pick_device(),
        threads=snakemake.threads,
    )
    run.log_store_reference("features", snakemake.output.features, summary)
    run.log_metrics({"n_volumes": summary["shape"][0], "feature_dim": summary["shape"][1]})
