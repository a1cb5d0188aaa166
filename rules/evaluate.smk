rule evaluate_fr_baselines:
    input:
        table=rules.regress_splits.output.table,
        splits_run=rules.regress_splits.output.run,
    output:
        scores="results/evaluate/baselines/{dataset}/fr_scores.csv",
        skips="results/evaluate/baselines/{dataset}/fr_skips.json",
        run="results/evaluate/baselines/{dataset}/mlflow_run.json",
    log:
        "logs/evaluate_fr_baselines/{dataset}.log",
    conda:
        "../envs/torch.yaml"
    threads: 8  # capped at --cores by Snakemake; profiles override with set-threads
    params:
        code=code_version("evaluate_fr_baselines"),
    message:
        "PSNR, SSIM, MS-SSIM, VIF-p, FSIM and GMSD baselines for {wildcards.dataset}"
    script:
        "../scripts/evaluate_fr_baselines.py"


rule evaluate_metrics:
    input:
        unpack(get_evaluate_inputs),
    output:
        metrics=report(
            "results/evaluate/{method}/{dataset}/metrics.json",
            caption="../workflow/report/metrics.rst",
            category="Metrics",
            labels={
                "method": "{method}",
                "dataset": "{dataset}",
                "figure": "metrics.json",
            },
        ),
        scatter=report(
            "results/evaluate/{method}/{dataset}/scatter.png",
            caption="../workflow/report/scatter.rst",
            category="Predictions",
            labels={
                "method": "{method}",
                "dataset": "{dataset}",
                "figure": "predicted vs target",
            },
        ),
        per_type=report(
            "results/evaluate/{method}/{dataset}/srcc_per_type.png",
            caption="../workflow/report/per_type.rst",
            category="Predictions",
            labels={
                "method": "{method}",
                "dataset": "{dataset}",
                "figure": "SRCC per type",
            },
        ),
        run="results/evaluate/{method}/{dataset}/mlflow_run.json",
    log:
        "logs/evaluate_metrics/{method}/{dataset}.log",
    conda:
        "../envs/torch.yaml"
    params:
        evaluate=canonical(config["evaluate"]),
        alphas=config["regress"]["alphas"],  # contrique_fr_ridge rows: ridge on |f_ref - f_dist|
        code=code_version("evaluate_metrics"),
    message:
        "Evaluating {wildcards.method} on {wildcards.dataset}"
    script:
        "../scripts/evaluate_metrics.py"


rule evaluate_dps_2afc:
    input:
        triplets=rules.distort_dps_triplets.output.triplets,
        images=rules.distort_dps_triplets.output.images,
        triplets_run=rules.distort_dps_triplets.output.run,
        encoders=expand("results/train/{encoder}/encoder.pt", encoder=get_encoders()),
        encoder_runs=expand(
            "results/train/{encoder}/mlflow_run.json", encoder=get_encoders()
        ),
    output:
        scores=report(
            "results/evaluate/dps/2afc.json",
            caption="../workflow/report/dps_2afc.rst",
            category="DPS contexts",
            labels={"figure": "2AFC scores"},
        ),
        run="results/evaluate/dps/mlflow_run.json",
    log:
        "logs/evaluate_dps_2afc.log",
    conda:
        "../envs/torch.yaml"
    threads: 8  # capped at --cores by Snakemake; profiles override with set-threads
    resources:
        gpu=1,
    params:
        encoders=get_encoders(),
        fr_distance=config["evaluate"]["fr_distance"],
        code=code_version("evaluate_dps_2afc"),
    message:
        "2AFC scores of PSNR, SSIM and {params.encoders} on the DPS triplets"
    script:
        "../scripts/evaluate_dps_2afc.py"
