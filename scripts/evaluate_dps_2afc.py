"""Rule evaluate_dps_2afc: 2AFC scores (ties 0.5) of PSNR, SSIM and every encoder on the DPS triplet set."""

import torch

from perceptflow.dps.stage import evaluate_dps_2afc
from perceptflow.models import pick_device
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="evaluate") as run:
    torch.set_num_threads(snakemake.threads)
    result = evaluate_dps_2afc(
        snakemake.input.triplets,
        dict(zip(snakemake.params.encoders, snakemake.input.encoders, strict=True)),
        out=snakemake.output.scores,
        fr_distance=snakemake.params.fr_distance,
        threads=snakemake.threads,
        device=pick_device(),
    )
    run.log_metrics({f"2afc.{name}": score for name, score in result["score_2afc"].items()})
    run.log_artifact(snakemake.output.scores)
