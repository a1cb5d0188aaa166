# 3D metric files: results/volumes/metric/<encoder>/{fr,<dataset>}.pt for every 3D encoder (docs/metric.md).


rule export_volume_metric:
    input:
        unpack(get_volume_export_inputs),
    output:
        metric="results/volumes/metric/{vencoder}/{vtarget}.pt",
        run="results/volumes/metric/{vencoder}/{vtarget}.mlflow_run.json",
    log:
        "logs/export_volume_metric/{vencoder}/{vtarget}.log",
    wildcard_constraints:
        vtarget="|".join(get_volume_metric_targets()),
    conda:
        "../envs/torch.yaml"
    params:
        extract=get_volume_extract_params(),
        preprocess=get_volume_metric_preprocess_params(),
        evaluate=get_volume_evaluate_params(),
        code=code_version("export_volume_metric"),
    message:
        "Exporting the {wildcards.vencoder} 3D metric ({wildcards.vtarget})"
    script:
        "../scripts/export_volume_metric.py"
