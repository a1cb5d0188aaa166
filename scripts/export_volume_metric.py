"""Rule export_volume_metric: one 3D metric file (results/volumes/metric/<encoder>/<target>.pt), logged as an MLflow
pyfunc model."""

from perceptflow.export.volumes.stage import export_volume_metric
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="export") as run:
    target = snakemake.wildcards.vtarget
    inputs = snakemake.input
    evaluate = snakemake.params.evaluate
    summary = export_volume_metric(
        inputs.encoder,
        out=snakemake.output.metric,
        extract_params=snakemake.params.extract,
        preprocess_params=snakemake.params.preprocess,
        fr_distance=evaluate["fr_distance"],
        dataset=None if target == "fr" else target,
        features=inputs.get("features"),
        table=inputs.get("table"),
        alphas=evaluate["alphas"],
        provenance={"mlflow_run_id": run.run_id, "rule": "export_volume_metric"},
    )
    if run.run_id is not None:
        from perceptflow.export.mlflow_model import log_metric_model
        from perceptflow.export.volumes.mlflow_model import VolumeMetricModel

        register = (snakemake.config.get("mlflow") or {}).get("register_models", False)
        name = f"perceptflow-3d-{snakemake.wildcards.vencoder}-{target}"
        uri = log_metric_model(
            snakemake.output.metric,
            name="metric",
            full_reference=target == "fr",
            register_as=name if register else None,
            python_model=VolumeMetricModel(),
        )
        run.set_tags({"perceptflow.metric_model": uri})
    run.log_metrics({k: v for k, v in summary.items() if k in ("nr_alpha", "nr_n_rows")})
