rule export_metric:
    input:
        unpack(get_export_inputs),
    output:
        metric="results/metric/{encoder}/{target}.pt",
        run="results/metric/{encoder}/{target}.mlflow_run.json",
    log:
        "logs/export_metric/{encoder}/{target}.log",
    wildcard_constraints:
        target="|".join(get_metric_targets()),
    conda:
        "../envs/torch.yaml"
    params:
        fr_layers=config["extract"]["fr_layers"],
        # the NR head's alpha grid: dataset targets only (a new grid never reruns fr.pt and what scores it)
        alphas=lambda wildcards: (
            None if wildcards.target == "fr" else config["regress"]["alphas"]
        ),
        code=code_version("export_metric"),
    message:
        "Exporting the {wildcards.encoder} metric ({wildcards.target})"
    script:
        "../scripts/export_metric.py"
