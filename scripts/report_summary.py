"""Rule report_summary: one comparison table and plot across methods, baselines and datasets."""

from perceptflow.evaluate.comparison import write_summary

from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="report") as run:
    table = write_summary(
        snakemake.input.metrics, table_out=snakemake.output.table, plot_out=snakemake.output.plot
    )
    run.log_artifact(snakemake.output.table)
    run.log_artifact(snakemake.output.plot)
