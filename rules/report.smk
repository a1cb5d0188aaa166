rule report_summary:
    input:
        metrics=expand(
            "results/evaluate/{method}/{dataset}/metrics.json",
            method=get_trained_methods(),
            dataset=get_datasets(),
        ),
        runs=expand(
            "results/evaluate/{method}/{dataset}/mlflow_run.json",
            method=get_trained_methods(),
            dataset=get_datasets(),
        ),
        # 3D metrics (rule evaluate_volumes) join the table: modes nr_ridge, fr_zero_shot and 2afc by severity.
        volume_metrics=lambda wildcards: get_volume_report_inputs("metrics"),
        volume_runs=lambda wildcards: get_volume_report_inputs("runs"),
        # DPS 2AFC scores join the table when distort.dps.enabled (rule evaluate_dps_2afc), and the adapted
        # metrics' held-out 2AFC (dataset dps_heldout) when adapt_dps.enabled (rule adapt_dps).
        twoafc=lambda wildcards: (
            ["results/evaluate/dps/2afc.json"] if dps_enabled() else []
        )
        + get_adapt_dps_outputs(),
    output:
        table=report(
            "results/report/summary.csv",
            caption="../workflow/report/summary.rst",
            category="Summary",
            labels={"figure": "comparison table"},
        ),
        plot=report(
            "results/report/summary.png",
            caption="../workflow/report/summary_plot.rst",
            category="Summary",
            labels={"figure": "SRCC by model"},
        ),
        run="results/report/mlflow_run.json",
        # The execution's parent run (table and plot as parent-level artifacts), recorded like a rule's run.
        parent_run="results/report/parent_mlflow_run.json",
    log:
        "logs/report_summary.log",
    conda:
        "../envs/torch.yaml"
    params:
        code=code_version("report_summary"),
    message:
        "Summarising all methods and datasets"
    script:
        "../scripts/report_summary.py"
