# Helpers of the 3D rules (volume bank and 3D training); the rules run only with a `volumes:` section.


def get_volumes_section():
    return dict(config.get("volumes") or {})


def volume_methods():
    """The 3D methods to train: `volumes.train.methods` (default both); none without a `volumes:` section."""
    if "volumes" not in config:
        return []
    train = get_volumes_section().get("train") or {}
    return list(train.get("methods") or wiring.VOLUME_METHOD_NAMES)


def get_volume_distort_params():
    """What the volume bank reads: `volumes.references`, `volumes.preprocess`, `volumes.distort`."""
    section = get_volumes_section()
    return canonical(
        {
            key: dict(section.get(key) or {})
            for key in ("references", "preprocess", "distort")
        }
    )


def get_volume_reference_files(wildcards):
    """User volume files (folder or CSV kind), so new or edited files rerun the bank; only existing ones, because
    `on_error: skip` lists missing files in skipped.csv instead of failing."""
    return wiring.volume_reference_files(get_volumes_section().get("references") or {})


def get_volume_train_params(wildcards):
    """`volumes.train` for one method: without `methods`, `random_init_seed` and the other method's keys."""
    train = get_volumes_section().get("train") or {}
    return canonical(wiring.resolve_volume_method_params(train, wildcards.vmethod))


def get_volume_random_init_params(wildcards):
    train = get_volumes_section().get("train") or {}
    widths = list(train.get("widths") or wiring.DEFAULT_WIDTHS)
    return canonical({"widths": widths, "seed": int(train.get("random_init_seed", 0))})


def get_volume_checkpoint_dir(wildcards):
    """Per-epoch 3D checkpoints, outside the rule's outputs so an interrupted job resumes from them."""
    return f"results/checkpoints/volumes/{wildcards.vmethod}"


def get_volume_extra_outputs():
    """Optional 3D outputs that nothing downstream consumes (the gallery); none without a volumes section."""
    return ["results/volumes/distort/gallery.png"] if "volumes" in config else []


# Helpers of the 3D features and evaluation rules (rules/extract_volumes.smk, rules/evaluate_volumes.smk).


def get_volume_encoders():
    """3D encoders whose features are extracted: every 3D method plus the random-init baseline."""
    return [*volume_methods(), RANDOM_INIT] if volume_methods() else []


def get_volume_dataset_spec(wildcards):
    return canonical(config["datasets"][wildcards.vdataset])


def get_volume_dataset_inputs(wildcards):
    """The volume bank's manifest and run for `synthetic_volumes`, the user's CSV for a rated 3D dataset."""
    spec = config["datasets"][wildcards.vdataset]
    if spec["kind"] == "synthetic_volumes":
        return {
            "manifest": rules.distort_volumes.output.manifest,
            "distort_run": rules.distort_volumes.output.run,
        }
    return {"manifest": spec["path"]}


def get_volume_preprocess_params(wildcards):
    """`volumes.preprocess` for a rated (csv) dataset, read with it; nothing for the bank's (already on the grid)."""
    if config["datasets"][wildcards.vdataset]["kind"] == "synthetic_volumes":
        return {}
    return canonical(get_volumes_section().get("preprocess") or {})


def get_volume_extract_params():
    """`volumes.extract` (window, stride, batch_size; the schema fills the defaults)."""
    return canonical(get_volumes_section().get("extract") or {})


def get_volume_evaluate_params():
    """`volumes.evaluate` (fr_distance, alphas; the schema fills the defaults)."""
    return canonical(get_volumes_section().get("evaluate") or {})


def get_volume_final_outputs():
    """metrics.json of every 3D method on every 3D dataset (nothing without a `volumes:` section)."""
    if "volumes" not in config:
        if get_volume_datasets():
            raise ValueError(
                f"config: datasets {get_volume_datasets()} are 3D (volumes) but the config has no `volumes:` section"
            )
        return []
    return expand(
        "results/volumes/evaluate/{vmethod}/{vdataset}/metrics.json",
        vmethod=volume_methods(),
        vdataset=get_volume_datasets(),
    )


def get_volume_report_inputs(kind):
    """The 3D metrics (or their run files) that join the report's comparison table."""
    name = "metrics.json" if kind == "metrics" else "mlflow_run.json"
    return [path.replace("metrics.json", name) for path in get_volume_final_outputs()]


wildcard_constraints:
    vmethod="|".join(volume_methods()),
    vencoder="|".join(get_volume_encoders()),
    vdataset="|".join(get_volume_datasets()),


# Helpers of the 3D metric export (rules/metric_volumes.smk).


def get_volume_metric_targets():
    """`fr` (the feature distance alone) and every 3D dataset (its NR head beside it)."""
    return ["fr", *get_volume_datasets()]


def get_volume_metric_outputs():
    """One 3D metric file per 3D encoder and target; none without a `volumes:` section or 3D datasets."""
    if "volumes" not in config or not get_volume_datasets():
        return []
    return expand(
        "results/volumes/metric/{vencoder}/{vtarget}.pt",
        vencoder=get_volume_encoders(),
        vtarget=get_volume_metric_targets(),
    )


def get_volume_metric_preprocess_params():
    """`volumes.preprocess`: how the metric file says users' NIfTI files are read."""
    return canonical(get_volumes_section().get("preprocess") or {})


def get_volume_export_inputs(wildcards):
    """The 3D encoder; for a dataset target also its 3D features and the evaluate table."""
    encoder = wildcards.vencoder
    inputs = {
        "encoder": f"results/volumes/train/{encoder}/encoder.pt",
        "encoder_run": f"results/volumes/train/{encoder}/mlflow_run.json",
    }
    if wildcards.vtarget != "fr":
        dataset = wildcards.vtarget
        inputs["features"] = f"results/volumes/extract/{encoder}/{dataset}.zarr"
        inputs["features_run"] = (
            f"results/volumes/extract/{encoder}/{dataset}.mlflow_run.json"
        )
        inputs["table"] = f"results/volumes/evaluate/baselines/{dataset}/table.csv"
    return inputs
