# Issue 5: helpers of the 3D rules (volume bank and 3D training); the rules run only with a `volumes:` section.

import csv as _csv

#: Library code the 3D stages run; its hash is a param, so editing it reruns the stage (see `code_version`).
STAGE_PACKAGES["distort_volumes"] = ("distortions", "data")
STAGE_PACKAGES["train_volumes"] = ("ssl", "models", "data", "distortions")
#: The 3D self-supervised methods (perceptflow.ssl.volume_methods.VOLUME_METHODS).
VOLUME_METHOD_NAMES = ("contrastive3d", "gvsl")
#: volumes.train keys only one method reads (perceptflow.ssl.volume_config.GVSL_KEYS / CONTRASTIVE_KEYS): left out
#: of the other method's params, so changing them neither reruns nor restarts it.
VOLUME_GVSL_KEYS = ("gvsl_lr", "gvsl_ncc_weight", "gvsl_mse_weight", "gvsl_smooth_weight", "gvsl_window")
VOLUME_CONTRASTIVE_KEYS = ("lr", "momentum", "temperature", "projection_dim")
VOLUME_NIFTI_SUFFIXES = (".nii", ".nii.gz")


def get_volumes_section():
    return dict(config.get("volumes") or {})


def volume_methods():
    """The 3D methods to train: `volumes.train.methods` (default both); none without a `volumes:` section."""
    if "volumes" not in config:
        return []
    train = get_volumes_section().get("train") or {}
    return list(train.get("methods") or VOLUME_METHOD_NAMES)


def get_volume_distort_params():
    """What the volume bank reads: `volumes.references`, `volumes.preprocess`, `volumes.distort`."""
    section = get_volumes_section()
    return {key: dict(section.get(key) or {}) for key in ("references", "preprocess", "distort")}


def get_volume_reference_files(wildcards):
    """User volume files (folder or CSV kind), so new or edited files rerun the bank; only existing ones, because
    `on_error: skip` lists missing files in skipped.csv instead of failing."""
    spec = get_volumes_section().get("references") or {}
    kind = spec.get("kind", "demo")
    if kind == "folder":
        folder = Path(spec["path"])
        if not folder.is_dir():
            return []
        return sorted(str(p) for p in folder.iterdir() if p.is_file() and p.name.endswith(VOLUME_NIFTI_SUFFIXES))
    if kind == "csv":
        table = Path(spec["path"])
        if not table.is_file():
            return []
        with table.open(newline="") as handle:
            rows = [row.get("path") for row in _csv.DictReader(handle)]
        files = [table.parent / row for row in rows if row]
        return [str(table), *sorted(str(p) for p in files if p.is_file())]
    return []


def get_volume_train_params(wildcards):
    """`volumes.train` for one method: without `methods`, `random_init_seed` and the other method's keys."""
    train = dict(get_volumes_section().get("train") or {})
    foreign = VOLUME_CONTRASTIVE_KEYS if wildcards.vmethod == "gvsl" else VOLUME_GVSL_KEYS
    skip = {"methods", "random_init_seed", *foreign}
    return {k: v for k, v in train.items() if k not in skip}


def get_volume_random_init_params(wildcards):
    train = get_volumes_section().get("train") or {}
    return {"widths": list(train.get("widths") or (8, 16, 32, 64)), "seed": int(train.get("random_init_seed", 0))}


def get_volume_checkpoint_dir(wildcards):
    """Per-epoch 3D checkpoints, outside the rule's outputs so an interrupted job resumes from them."""
    return f"results/checkpoints/volumes/{wildcards.vmethod}"


def get_volume_extra_outputs():
    """Optional 3D outputs that no other rule consumes (the gallery); none without a `volumes:` section."""
    return ["results/volumes/distort/gallery.png"] if "volumes" in config else []
