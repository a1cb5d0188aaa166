"""Rule evaluate_volumes: metrics.json, predictions and plot of one 3D method on one 3D dataset, with baselines."""

from perceptflow.evaluate.volumes.stage import evaluate_volumes
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="evaluate") as run:
    metrics = evaluate_volumes(
        snakemake.wildcards.vmethod,
        dict(snakemake.input.items()),
        dict(snakemake.output.items()),
        alphas=snakemake.params.evaluate["alphas"],
        fr_distance=snakemake.params.evaluate["fr_distance"],
    )
    run.log_metrics({f"{row['model']}.{row['mode']}": row.get("2afc", row.get("srcc")) for row in metrics["table"]})
    for name in ("metrics", "predictions", "plot"):
        run.log_artifact(snakemake.output[name])
