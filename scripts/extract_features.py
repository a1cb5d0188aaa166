"""Rule extract_features: frozen two-scale features of one dataset into a Zarr store."""

from perceptflow.data import load_dataset
from perceptflow.features.extract import extract_dataset
from perceptflow.models import pick_device
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="extract") as run:
    table = load_dataset(
        snakemake.wildcards.dataset, snakemake.params.dataset, synthetic_manifest=snakemake.input.manifest
    )
    summary = extract_dataset(
        table,
        encoder_path=snakemake.input.encoder,
        out=snakemake.output.features,
        batch_size=snakemake.params.extract["batch_size"],
        device=pick_device(),
        threads=snakemake.threads,
        attributes={"config": {"extract": snakemake.params.extract, "dataset": snakemake.params.dataset}},
    )
    run.log_store_reference("features", snakemake.output.features, summary)
    run.log_metrics({"n_images": summary["shape"][0], "feature_dim": summary["shape"][1]})
