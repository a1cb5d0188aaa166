"""Rule train_random_init: the untrained encoder every result is compared against."""

from perceptflow.models.stage import train_random_init
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="train"):
    params = snakemake.params.random_init
    train_random_init(params["arch"], params["seed"], snakemake.output.encoder)
