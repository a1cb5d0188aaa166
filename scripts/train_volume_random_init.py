"""Rule train_volume_random_init: the untrained 3D encoder every 3D result is compared against."""

from perceptflow.models.volumes.stage import train_volume_random_init
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="train"):
    params = snakemake.params.random_init
    train_volume_random_init(params["widths"], params["seed"], snakemake.output.encoder)
