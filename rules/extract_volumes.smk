# Issue 5: features of 3D datasets (the volume bank, rated NIfTI CSVs) from every 3D encoder.

#: The 3D evaluation also scores NRMSE, PSNR and 3D SSIM, which live in the distortions package.
STAGE_PACKAGES["evaluate_volumes"] = ("evaluate", "regress", "features", "data", "distortions")


def get_volume_encoders():
    """3D encoders whose features are extracted: every 3D method plus the random-init baseline."""
    return [*volume_methods(), RANDOM_INIT] if volume_methods() else []


def get_volume_dataset_spec(wildcards):
    return dict(config["datasets"][wildcards.vdataset])


def get_volume_dataset_inputs(wildcards):
    """The volume bank's manifest and run for `synthetic_volumes`, the user's CSV for a rated 3D dataset."""
    spec = config["datasets"][wildcards.vdataset]
    if spec["kind"] == "synthetic_volumes":
        return {"manifest": rules.distort_volumes.output.manifest, "distort_run": rules.distort_volumes.output.run}
    return {"manifest": spec["path"]}


def get_volume_preprocess_params(wildcards):
    """`volumes.preprocess` for a rated (csv) dataset, read with it; nothing for the bank's (already on the grid)."""
    if config["datasets"][wildcards.vdataset]["kind"] == "synthetic_volumes":
        return {}
    return dict(get_volumes_section().get("preprocess") or {})


def get_volume_extract_params():
    """`volumes.extract` (window, stride, batch_size; the schema fills the defaults)."""
    return dict(get_volumes_section().get("extract") or {})


def get_volume_evaluate_params():
    """`volumes.evaluate` (fr_distance, alphas; the schema fills the defaults)."""
    return dict(get_volumes_section().get("evaluate") or {})


def get_volume_final_outputs():
    """metrics.json of every 3D method on every 3D dataset (nothing without a `volumes:` section)."""
    if "volumes" not in config:
        if get_volume_datasets():
            raise ValueError(
                f"config: datasets {get_volume_datasets()} are 3D (volumes) but the config has no `volumes:` section"
            )
        return []
    return expand(
        "results/volumes/evaluate/{vmethod}/{vdataset}/metrics.json",
        vmethod=volume_methods(),
        vdataset=get_volume_datasets(),
    )


def get_volume_report_inputs(kind):
    """The 3D metrics (or their run files) that join the report's comparison table."""
    name = "metrics.json" if kind == "metrics" else "mlflow_run.json"
    return [path.replace("metrics.json", name) for path in get_volume_final_outputs()]


wildcard_constraints:
    vmethod="|".join(volume_methods()),
    vencoder="|".join(get_volume_encoders()),
    vdataset="|".join(get_volume_datasets()),


rule extract_volume_features:
    input:
        unpack(get_volume_dataset_inputs),
        encoder="results/volumes/train/{vencoder}/encoder.pt",
        encoder_run="results/volumes/train/{vencoder}/mlflow_run.json",
    output:
        features=directory("results/volumes/extract/{vencoder}/{vdataset}.zarr"),
        run="results/volumes/extract/{vencoder}/{vdataset}.mlflow_run.json",
    log:
        "logs/extract_volume_features/{vencoder}/{vdataset}.log",
    benchmark:
        "results/benchmarks/extract_volume_features/{vencoder}/{vdataset}.tsv"
    params:
        extract=get_volume_extract_params(),
        dataset=get_volume_dataset_spec,
        preprocess=get_volume_preprocess_params,
        code=code_version("extract"),
    threads: 8  # capped at --cores by Snakemake; profiles override with set-threads
    resources:
        gpu=1,
    conda:
        "../envs/torch.yaml"
    message:
        "Extracting {wildcards.vencoder} volume features for {wildcards.vdataset}"
    script:
        "../scripts/extract_volume_features.py"
