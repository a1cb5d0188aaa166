"""Input and target functions of the export_metric rule (rules/metric.smk)."""


def get_metric_targets():
    """`fr` (the full-reference distance alone) and every 2D dataset (its NR head beside it)."""
    return ["fr", *get_datasets()]


def get_metric_outputs():
    """One metric file per encoder (trained methods and random init) and target; none without 2D datasets."""
    if not get_datasets():
        return []
    return expand(
        "results/metric/{encoder}/{target}.pt",
        encoder=get_encoders(),
        target=get_metric_targets(),
    )


def get_export_inputs(wildcards):
    """The encoder; for a dataset target also its features, table and splits."""
    inputs = {
        "encoder": f"results/train/{wildcards.encoder}/encoder.pt",
        "encoder_run": f"results/train/{wildcards.encoder}/mlflow_run.json",
    }
    if wildcards.target != "fr":
        inputs["features"] = (
            f"results/extract/{wildcards.encoder}/{wildcards.target}.zarr"
        )
        inputs["features_run"] = (
            f"results/extract/{wildcards.encoder}/{wildcards.target}.mlflow_run.json"
        )
        inputs["table"] = f"results/regress/{wildcards.target}/table.csv"
        inputs["splits"] = f"results/regress/{wildcards.target}/splits.json"
    return inputs
