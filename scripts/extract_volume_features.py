"""Rule extract_volume_features: sliding-window pooled features of one 3D dataset into a Zarr store."""

from perceptflow.data.volume_datasets import load_volume_dataset, preprocess_config
from perceptflow.features.volumes import WindowSpec, extract_volume_dataset
from perceptflow.models import pick_device
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="extract") as run:
    name, spec = snakemake.wildcards.vdataset, snakemake.params.dataset
    table = load_volume_dataset(name, spec, synthetic_manifest=snakemake.input.manifest)
    summary = extract_volume_dataset(
        table,
        encoder_path=snakemake.input.encoder,
        out=snakemake.output.features,
        spec=WindowSpec.from_config(snakemake.params.extract),
        preprocess=preprocess_config(name, spec, snakemake.params.preprocess),
        device=pick_device(),
        threads=snakemake.threads,
        attributes={"config": {"extract": snakemake.params.extract, "dataset": spec}},
    )
    run.log_store_reference("features", snakemake.output.features, summary)
    run.log_metrics({"n_volumes": summary["shape"][0], "feature_dim": summary["shape"][1]})
