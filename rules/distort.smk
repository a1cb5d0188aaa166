rule distort_references:
    input:
        references=get_reference_files,
    output:
        manifest="results/distort/manifest.csv",
        images=directory("results/distort/images"),
        run="results/distort/mlflow_run.json",
    log:
        "logs/distort_references.log",
    benchmark:
        "results/benchmarks/distort_references.tsv"
    params:
        distort=config["distort"],
        code=code_version("distort"),
    threads: workflow.cores
    conda:
        "../envs/distort.yaml"
    message:
        "Distorting reference images ({params.distort[scheme]} scheme)"
    script:
        "../scripts/distort_references.py"
