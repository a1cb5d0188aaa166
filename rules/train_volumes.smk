# Self-supervised 3D encoders (contrastive3d, gvsl) on the volume bank, and the random-init baseline.


rule train_volume_encoder:
    input:
        manifest=rules.distort_volumes.output.manifest,
        volumes=rules.distort_volumes.output.volumes,
        distort_run=rules.distort_volumes.output.run,
    output:
        encoder="results/volumes/train/{vmethod}/encoder.pt",
        history="results/volumes/train/{vmethod}/history.csv",
        run="results/volumes/train/{vmethod}/mlflow_run.json",
    log:
        "logs/train_volume_encoder/{vmethod}.log",
    benchmark:
        "results/benchmarks/train_volume_encoder/{vmethod}.tsv"
    wildcard_constraints:
        vmethod="|".join(wiring.VOLUME_METHOD_NAMES),
    conda:
        "../envs/torch.yaml"
    threads: 8  # capped at --cores by Snakemake; profiles override with set-threads
    resources:
        gpu=1,
    params:
        train=get_volume_train_params,
        code=code_version("train_volume_encoder"),
        # Checkpoints live outside the declared outputs: Snakemake deletes incomplete outputs, not these.
        checkpoint_dir=get_volume_checkpoint_dir,
    message:
        "Training the {wildcards.vmethod} volume encoder"
    script:
        "../scripts/train_volume_encoder.py"


rule train_volume_random_init:
    output:
        encoder=f"results/volumes/train/{RANDOM_INIT}/encoder.pt",
        run=f"results/volumes/train/{RANDOM_INIT}/mlflow_run.json",
    log:
        "logs/train_volume_random_init.log",
    conda:
        "../envs/torch.yaml"
    params:
        random_init=get_volume_random_init_params,
        code=code_version("train_volume_random_init"),
    message:
        "Saving the random-init 3D baseline encoder"
    script:
        "../scripts/train_volume_random_init.py"
