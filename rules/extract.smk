rule extract_features:
    input:
        unpack(get_dataset_inputs),
        encoder="results/train/{encoder}/encoder.pt",
        encoder_run="results/train/{encoder}/mlflow_run.json",
    output:
        features=directory("results/extract/{encoder}/{dataset}.zarr"),
        run="results/extract/{encoder}/{dataset}.mlflow_run.json",
    log:
        "logs/extract_features/{encoder}/{dataset}.log",
    benchmark:
        "results/benchmarks/extract_features/{encoder}/{dataset}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 8  # capped at --cores by Snakemake; profiles override with set-threads
    resources:
        gpu=1,
    params:
        extract=canonical(config["extract"]),
        dataset=get_dataset_spec,
        code=code_version("extract_features"),
        partial_dir=get_extract_partial_dir,
    message:
        "Extracting {wildcards.encoder} features for {wildcards.dataset}"
    script:
        "../scripts/extract_features.py"
