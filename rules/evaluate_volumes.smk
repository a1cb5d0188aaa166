# Classic baselines per dataset, then every 3D method beside them and random init.


rule evaluate_volume_baselines:
    input:
        unpack(get_volume_dataset_inputs),
    output:
        table="results/volumes/evaluate/baselines/{vdataset}/table.csv",
        scores="results/volumes/evaluate/baselines/{vdataset}/fr_scores.csv",
        run="results/volumes/evaluate/baselines/{vdataset}/mlflow_run.json",
    log:
        "logs/evaluate_volume_baselines/{vdataset}.log",
    conda:
        "../envs/torch.yaml"
    threads: 8  # capped at --cores by Snakemake; profiles override with set-threads
    params:
        dataset=get_volume_dataset_spec,
        preprocess=get_volume_preprocess_params,
        code=code_version("evaluate_volume_baselines"),
    message:
        "NRMSE, PSNR and 3D SSIM baselines for {wildcards.vdataset}"
    script:
        "../scripts/evaluate_volume_baselines.py"


rule evaluate_volumes:
    input:
        model_features="results/volumes/extract/{vmethod}/{vdataset}.zarr",
        model_run="results/volumes/extract/{vmethod}/{vdataset}.mlflow_run.json",
        baseline_features=f"results/volumes/extract/{RANDOM_INIT}/{{vdataset}}.zarr",
        baseline_run=f"results/volumes/extract/{RANDOM_INIT}/{{vdataset}}.mlflow_run.json",
        table=rules.evaluate_volume_baselines.output.table,
        fr_scores=rules.evaluate_volume_baselines.output.scores,
        fr_run=rules.evaluate_volume_baselines.output.run,
    output:
        metrics=report(
            "results/volumes/evaluate/{vmethod}/{vdataset}/metrics.json",
            caption="../workflow/report/volume_metrics.rst",
            category="Volumes",
            labels={
                "method": "{vmethod}",
                "dataset": "{vdataset}",
                "figure": "metrics.json",
            },
        ),
        predictions="results/volumes/evaluate/{vmethod}/{vdataset}/predictions.csv",
        plot=report(
            "results/volumes/evaluate/{vmethod}/{vdataset}/metrics.png",
            caption="../workflow/report/volume_metrics.rst",
            category="Volumes",
            labels={
                "method": "{vmethod}",
                "dataset": "{vdataset}",
                "figure": "scores and SRCC per artefact",
            },
        ),
        run="results/volumes/evaluate/{vmethod}/{vdataset}/mlflow_run.json",
    log:
        "logs/evaluate_volumes/{vmethod}/{vdataset}.log",
    conda:
        "../envs/torch.yaml"
    params:
        evaluate=get_volume_evaluate_params(),
        code=code_version("evaluate_volumes"),
    message:
        "Evaluating {wildcards.vmethod} on the volumes of {wildcards.vdataset}"
    script:
        "../scripts/evaluate_volumes.py"
