"""Rule evaluate_volume_baselines: the dataset's table and NRMSE, PSNR and 3D SSIM of every volume."""

from perceptflow.data import save_table
from perceptflow.data.volume_datasets import load_volume_dataset, preprocess_config
from perceptflow.evaluate.volumes import volume_baseline_scores
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="evaluate") as run:
    name, spec = snakemake.wildcards.vdataset, snakemake.params.dataset
    table = load_volume_dataset(name, spec, synthetic_manifest=snakemake.input.manifest)
    save_table(table, snakemake.output.table)
    scores = volume_baseline_scores(
        table, preprocess=preprocess_config(name, spec, snakemake.params.preprocess), threads=snakemake.threads
    )
    scores.to_csv(snakemake.output.scores, index=False)
    run.log_metrics({"n_volumes": len(scores), "n_refs": table.n_refs})
    run.log_artifact(snakemake.output.scores)
