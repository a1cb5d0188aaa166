"""Rule export_metric: one metric file (results/metric/<encoder>/<target>.pt), logged as an MLflow pyfunc model."""

from perceptflow.export.stage import export_metric
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="export") as run:
    target = snakemake.wildcards.target
    inputs = snakemake.input
    summary = export_metric(
        inputs.encoder,
        out=snakemake.output.metric,
        fr_layers=snakemake.params.fr_layers,
        dataset=None if target == "fr" else target,
        features=inputs.get("features"),
        table=inputs.get("table"),
        splits=inputs.get("splits"),
        alphas=snakemake.params.alphas or (),
        provenance={"mlflow_run_id": run.run_id, "rule": "export_metric"},
    )
    if run.run_id is not None:
        from perceptflow.export.mlflow_model import log_metric_model

        register = (snakemake.config.get("mlflow") or {}).get("register_models", False)
        name = f"perceptflow-{snakemake.wildcards.encoder}-{target}"
        uri = log_metric_model(
            snakemake.output.metric,
            name="metric",
            full_reference=target == "fr",
            register_as=name if register else None,
        )
        run.set_tags({"perceptflow.metric_model": uri})
    run.log_metrics({k: v for k, v in summary.items() if k in ("nr_alpha", "nr_n_rows")})
