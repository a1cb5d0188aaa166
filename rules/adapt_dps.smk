# DPS adaptation. Per (pretrained encoder, variant), an LPIPS-style metric is adapted to every DPS
# context on the training part of the DPS triplets and scored (untrained vs adapted 2AFC) on held-out triplets.
# Off unless `adapt_dps.enabled` (which needs `distort.dps.enabled`); library: perceptflow.dps.stage.


include: "adapt_dps_common.smk"


rule adapt_dps:
    input:
        unpack(get_adapt_dps_inputs),
    output:
        metric="results/adapt_dps/{encoder}/{variant}/metric.pt",
        history="results/adapt_dps/{encoder}/{variant}/history.csv",
        scores=report(
            "results/adapt_dps/{encoder}/{variant}/2afc.json",
            caption="../workflow/report/adapt_dps.rst",
            category="DPS contexts",
            labels={
                "encoder": "{encoder}",
                "variant": "{variant}",
                "figure": "adapted 2AFC",
            },
        ),
        run="results/adapt_dps/{encoder}/{variant}/mlflow_run.json",
    log:
        "logs/adapt_dps/{encoder}/{variant}.log",
    benchmark:
        "results/benchmarks/adapt_dps/{encoder}/{variant}.tsv"
    wildcard_constraints:
        encoder="|".join([*get_encoders(), *get_adapt_dps_weights()]) or "(?!)",
        variant=variant_pattern(),
    conda:
        "../envs/torch.yaml"
    threads: 8  # capped at --cores by Snakemake; profiles override with set-threads
    resources:
        gpu=1,
    params:
        adapt=get_adapt_dps_params,
        fr_datasets=get_bank_datasets(),
        code=code_version("adapt_dps"),
    message:
        "DPS adaptation: {wildcards.variant} over {wildcards.encoder}, held-out 2AFC per context"
    script:
        "../scripts/adapt_dps.py"
