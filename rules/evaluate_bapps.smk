rule evaluate_bapps:
    input:
        metrics=expand("results/metric/{encoder}/fr.pt", encoder=get_encoders()),
        judgements=get_bapps_judgements,
    output:
        scores=report(
            "results/evaluate/bapps/{dataset}/scores.json",
            caption="../workflow/report/bapps.rst",
            category="Metrics",
            labels={"dataset": "{dataset}", "scores": "2AFC / JND"},
        ),
        run="results/evaluate/bapps/{dataset}/mlflow_run.json",
    log:
        "logs/evaluate_bapps/{dataset}.log",
    wildcard_constraints:
        dataset="|".join(get_bapps_datasets()),
    conda:
        "../envs/torch.yaml"
    threads: 8  # capped at --cores by Snakemake; profiles override with set-threads
    resources:
        gpu=1,
    params:
        dataset=get_dataset_spec,
        encoders=get_encoders(),
        code=code_version("evaluate_bapps"),
    message:
        "2AFC and JND scores of every metric on {wildcards.dataset}"
    script:
        "../scripts/evaluate_bapps.py"
