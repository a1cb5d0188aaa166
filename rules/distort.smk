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
    conda:
        "../envs/distort.yaml"
    threads: 8  # capped at --cores by Snakemake; profiles override with set-threads
    params:
        distort=get_distort_params(),
        code=code_version("distort_references"),
    message:
        "Distorting reference images ({params.distort[scheme]} scheme)"
    script:
        "../scripts/distort_references.py"


rule distort_gallery:
    input:
        references=get_reference_files,
    output:
        gallery=report(
            "results/distort/gallery.png",
            caption="../workflow/report/gallery.rst",
            category="Distortions",
            labels={"figure": "distortion gallery"},
        ),
        run="results/distort/gallery.mlflow_run.json",
    log:
        "logs/distort_gallery.log",
    conda:
        "../envs/distort.yaml"
    params:
        distort=get_gallery_params(),
        code=code_version("distort_gallery"),
    message:
        "Drawing the distortion gallery"
    script:
        "../scripts/distort_gallery.py"


rule distort_dps_triplets:
    input:
        manifest=rules.distort_references.output.manifest,
        images=rules.distort_references.output.images,
        distort_run=rules.distort_references.output.run,
    output:
        triplets="results/distort/dps/triplets.csv",
        images=directory("results/distort/dps/images"),
        run="results/distort/dps/mlflow_run.json",
    log:
        "logs/distort_dps_triplets.log",
    benchmark:
        "results/benchmarks/distort_dps_triplets.tsv"
    conda:
        "../envs/distort.yaml"
    threads: 8  # capped at --cores by Snakemake; profiles override with set-threads
    params:
        dps=get_dps_params(),
        code=code_version("distort_dps_triplets"),
    message:
        "DPS 2AFC triplets: {params.dps[n_triplets]} per context, {params.dps[rankings]} context(s)"
    script:
        "../scripts/distort_dps_triplets.py"
