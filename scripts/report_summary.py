"""Rule report_summary: one comparison table and plot across methods, baselines and datasets.

The table and plot are logged to the report run and, as parent-level artifacts, to the execution's parent run
``workflow:<execution id>`` (tag ``perceptflow.parent=true``), which the report run points to with
``mlflow.parentRunId``.
"""

import os

from perceptflow.evaluate.comparison import log_to_parent_run, write_parent_run_file
from perceptflow.evaluate.stage import report_summary
from perceptflow.tracking import TrackingSettings, init_tracking
from perceptflow.tracking.runs import EXECUTION_ID_ENV
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="report") as run:
    table = report_summary(
        [*snakemake.input.metrics, *snakemake.input.volume_metrics],
        table_out=snakemake.output.table,
        plot_out=snakemake.output.plot,
        twoafc_files=list(snakemake.input.twoafc),
    )
    run.log_artifact(snakemake.output.table)
    run.log_artifact(snakemake.output.plot)
    settings = TrackingSettings.from_config(snakemake.config.get("mlflow"))
    parent_id = None
    if run.run_id is not None:
        parent_id = log_to_parent_run(
            [snakemake.output.table, snakemake.output.plot],
            execution_id=os.environ.get(EXECUTION_ID_ENV, "interactive"),
            experiment_id=init_tracking(settings),
            tracking_uri=settings.resolved_uri(),
        )
        run.set_tags({"mlflow.parentRunId": parent_id, "perceptflow.parent_run_id": parent_id})
    write_parent_run_file(
        snakemake.output.parent_run, run_id=parent_id, experiment=settings.experiment if parent_id else None
    )
