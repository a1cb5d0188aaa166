rule regress_splits:
    input:
        unpack(get_dataset_inputs),
    output:
        splits="results/regress/{dataset}/splits.json",
        table="results/regress/{dataset}/table.csv",
        run="results/regress/{dataset}/splits.mlflow_run.json",
    log:
        "logs/regress_splits/{dataset}.log",
    conda:
        "../envs/regress.yaml"
    params:
        splits=get_split_params,
        dataset=get_dataset_spec,
        code=code_version("regress_splits"),
    message:
        "Drawing content-separated splits for {wildcards.dataset}"
    script:
        "../scripts/regress_splits.py"


rule regress_ridge:
    input:
        features="results/extract/{encoder}/{dataset}.zarr",
        features_run="results/extract/{encoder}/{dataset}.mlflow_run.json",
        splits=rules.regress_splits.output.splits,
        table=rules.regress_splits.output.table,
        splits_run=rules.regress_splits.output.run,
    output:
        predictions="results/regress/{dataset}/{encoder}/predictions.csv",
        alphas="results/regress/{dataset}/{encoder}/alphas.csv",
        run="results/regress/{dataset}/{encoder}/mlflow_run.json",
    log:
        "logs/regress_ridge/{encoder}/{dataset}.log",
    conda:
        "../envs/regress.yaml"
    params:
        alphas=config["regress"]["alphas"],
        code=code_version("regress_ridge"),
    message:
        "Ridge from {wildcards.encoder} features to {wildcards.dataset} targets"
    script:
        "../scripts/regress_ridge.py"
