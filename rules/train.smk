rule train_encoder:
    input:
        manifest=rules.distort_references.output.manifest,
        images=rules.distort_references.output.images,
        distort_run=rules.distort_references.output.run,
    output:
        encoder="results/train/{method}/encoder.pt",
        history="results/train/{method}/history.csv",
        run="results/train/{method}/mlflow_run.json",
    log:
        "logs/train_encoder/{method}.log",
    benchmark:
        "results/benchmarks/train_encoder/{method}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: get_train_threads
    resources:
        # gpu > 1 (e.g. `--set-resources train_encoder:gpu=4` or a profile) trains under torchrun, one DDP
        # process per GPU; a resource, not a param, so changing it reruns nothing.
        gpu=1,
    params:
        train=get_train_params,
        code=code_version("train_encoder"),
        # Checkpoints live outside the declared outputs: Snakemake deletes incomplete outputs, not these.
        checkpoint_dir=get_checkpoint_dir,
    message:
        "Training the {wildcards.method} encoder"
    script:
        "../scripts/train_encoder.py"


rule train_random_init:
    output:
        encoder=f"results/train/{RANDOM_INIT}/encoder.pt",
        run=f"results/train/{RANDOM_INIT}/mlflow_run.json",
    log:
        "logs/train_random_init.log",
    conda:
        "../envs/torch.yaml"
    params:
        random_init=get_random_init_params,
        code=code_version("train_random_init"),
    message:
        "Saving the random-init baseline encoder"
    script:
        "../scripts/train_random_init.py"
