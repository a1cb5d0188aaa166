# The 3D artefact bank (NIfTI references, ten calibrated MRI artefacts) and its gallery.


rule distort_volumes:
    input:
        references=get_volume_reference_files,
    output:
        manifest="results/volumes/distort/manifest.csv",
        volumes=directory("results/volumes/distort/volumes"),
        skipped="results/volumes/distort/skipped.csv",
        run="results/volumes/distort/mlflow_run.json",
    log:
        "logs/distort_volumes.log",
    benchmark:
        "results/benchmarks/distort_volumes.tsv"
    conda:
        "../envs/distort.yaml"
    threads: 8  # capped at --cores by Snakemake; profiles override with set-threads
    params:
        volumes=get_volume_distort_params(),
        code=code_version("distort_volumes"),
    message:
        "Distorting reference volumes (3D MRI artefacts)"
    script:
        "../scripts/distort_volumes.py"


rule distort_volume_gallery:
    input:
        references=get_volume_reference_files,
    output:
        gallery=report(
            "results/volumes/distort/gallery.png",
            caption="../workflow/report/volume_gallery.rst",
            category="Distortions",
            labels={"figure": "3D artefact gallery"},
        ),
        run="results/volumes/distort/gallery.mlflow_run.json",
    log:
        "logs/distort_volume_gallery.log",
    conda:
        "../envs/distort.yaml"
    params:
        volumes=get_volume_distort_params(),
        code=code_version("distort_volume_gallery"),
    message:
        "Drawing the 3D artefact gallery"
    script:
        "../scripts/distort_volume_gallery.py"
