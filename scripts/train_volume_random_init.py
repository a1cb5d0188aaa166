"""Rule train_volume_random_init: the untrained 3D encoder every 3D result is compared against."""

from perceptflow.ssl.volume_methods import save_volume_random_init
from perceptflow.tracking.snakemake import rule_run

with rule_run(snakemake, stage="train"):
    params = snakemake.params.random_init
    save_volume_random_init(params["widths"], params["seed"], snakemake.output.encoder)
