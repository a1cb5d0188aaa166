"""Rule evaluate_metrics: metrics.json and plots for one method on one dataset, with baseline rows."""

from perceptflow.evaluate.stage import evaluate_metrics
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="evaluate") as run:
    metrics = evaluate_metrics(
        snakemake.wildcards.method,
        dict(snakemake.input.items()),
        dict(snakemake.output.items()),
        fr_distance=snakemake.params.evaluate["fr_distance"],
        alphas=snakemake.params.alphas,
    )
    run.log_metrics({f"{row['model']}.{row['mode']}.srcc": row["srcc"] for row in metrics["table"]})
    for name in ("metrics", "scatter", "per_type"):
        run.log_artifact(snakemake.output[name])
