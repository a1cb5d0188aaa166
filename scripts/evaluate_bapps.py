"""Rule evaluate_bapps: 2AFC score and JND mAP of every encoder's metric and of PSNR / SSIM on a BAPPS dataset."""

from perceptflow.evaluate.bapps.stage import evaluate_bapps
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="evaluate") as run:
    result = evaluate_bapps(
        snakemake.wildcards.dataset,
        snakemake.params.dataset,
        dict(zip(snakemake.params.encoders, snakemake.input.metrics, strict=True)),
        scores_out=snakemake.output.scores,
        threads=snakemake.threads,
    )
    run.log_metrics({f"twoafc_{name}": block["mean"] for name, block in result["twoafc"].items()})
    run.log_metrics({f"jnd_map_{name}": block["mean"] for name, block in result["jnd_map"].items()})
    run.log_artifact(snakemake.output.scores)
