# Features of 3D datasets (the volume bank, rated NIfTI CSVs) from every 3D encoder.


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
    conda:
        "../envs/torch.yaml"
    threads: 8  # capped at --cores by Snakemake; profiles override with set-threads
    resources:
        gpu=1,
    params:
        extract=get_volume_extract_params(),
        dataset=get_volume_dataset_spec,
        preprocess=get_volume_preprocess_params,
        code=code_version("extract_volume_features"),
    message:
        "Extracting {wildcards.vencoder} volume features for {wildcards.vdataset}"
    script:
        "../scripts/extract_volume_features.py"
