"""Config validation and the small functions rules use for params, inputs and targets."""

import hashlib
import importlib.util
from pathlib import Path

from snakemake.utils import validate

from perceptflow.data.volume_datasets import is_volume_dataset
from perceptflow.ssl.method_params import resolve_method_params


validate(config, schema="../workflow/schemas/config.schema.yaml")

#: Library subpackages whose code each stage runs; their source hash is a param, so editing them reruns the stage.
STAGE_PACKAGES = {
    "distort": ("distortions", "data"),
    "train": ("ssl", "models", "data"),
    "extract": ("features", "models", "data"),
    "regress": ("regress", "features", "data"),
    "evaluate": ("evaluate", "regress", "features", "data"),
    "report": ("evaluate",),
}
RANDOM_INIT = "random_init"


def get_package_root():
    """Source folder of the perceptflow package that will actually run (the installed, editable one),
    found without importing it; falls back to this checkout's src/."""
    spec = importlib.util.find_spec("perceptflow")
    if spec is not None and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    return Path(workflow.basedir) / "src" / "perceptflow"


def code_version(stage):
    """Hash of the library sources a stage runs (its subpackages plus top-level modules)."""
    root = get_package_root()
    files = sorted(root.glob("*.py"))
    for package in STAGE_PACKAGES[stage]:
        files += sorted((root / package).rglob("*.py"))
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def get_trained_methods():
    return list(config["train"].get("methods") or [config["train"]["method"]])


def get_encoders():
    """Encoders whose features are extracted: every trained method plus the random-init baseline."""
    return [*get_trained_methods(), RANDOM_INIT]


def get_datasets():
    """2D (image) datasets; 3D ones (`synthetic_volumes`, csv of NIfTI files) are `get_volume_datasets()`."""
    return [name for name, spec in config["datasets"].items() if not is_volume_dataset(spec)]


def get_volume_datasets():
    return [name for name, spec in config["datasets"].items() if is_volume_dataset(spec)]


def get_dataset_spec(wildcards):
    return dict(config["datasets"][wildcards.dataset])


def get_dataset_inputs(wildcards):
    """Files a dataset is built from: the distort outputs for `synthetic`, the user's CSV for `csv`."""
    spec = config["datasets"][wildcards.dataset]
    if spec["kind"] == "synthetic":
        return {
            "manifest": rules.distort_references.output.manifest,
            "images": rules.distort_references.output.images,
            "distort_run": rules.distort_references.output.run,
        }
    return {"manifest": spec["path"]}


def get_reference_files(wildcards):
    """Reference image files when they come from a user folder (so new or edited files rerun distort)."""
    spec = config["distort"]["references"]
    if spec.get("kind") != "folder":
        return []
    folder = Path(spec["path"])
    suffixes = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
    return sorted(str(p) for p in folder.iterdir() if p.suffix.lower() in suffixes) if folder.is_dir() else []


def get_train_params(wildcards):
    """The settings this method trains with: the shared `train` keys, its own section (`mixup`) and
    `train.overrides.<method>`; another method's override or section never reruns it."""
    return resolve_method_params(config["train"], wildcards.method, validate=False)


def get_random_init_params(wildcards):
    return {"arch": config["train"]["arch"], "seed": config["train"]["random_init_seed"]}


def get_split_params(wildcards):
    regress = config["regress"]
    return {k: regress[k] for k in ("n_splits", "fractions", "seed")}


def get_train_threads(wildcards):
    """Training threads: 8, capped at --cores by Snakemake; profiles override with set-threads."""
    return 8


def get_final_outputs():
    """Every metrics.json, the report, the gallery; 2D targets only when a 2D dataset is listed (a medical-only
    config runs the 3D rules alone), 3D targets when the config has a `volumes:` section."""
    volume_metrics = get_volume_final_outputs()
    summary = ["results/report/summary.csv", "results/report/summary.png"]
    if not get_datasets():
        return [*volume_metrics, *(summary if volume_metrics else []), *get_volume_extra_outputs()]
    metrics = expand(
        "results/evaluate/{method}/{dataset}/metrics.json",
        method=get_trained_methods(),
        dataset=get_datasets(),
    )
    return [*metrics, *volume_metrics, *summary, *get_distort_extra_outputs(), *get_volume_extra_outputs()]


def init_mlflow():
    """Create the tracking database and experiment once, before jobs run in parallel ("database is locked")."""
    from perceptflow.tracking import TrackingSettings, init_tracking

    init_tracking(TrackingSettings.from_config(config.get("mlflow")))


wildcard_constraints:
    method="|".join(get_trained_methods()),
    encoder="|".join(get_encoders()),
    dataset="|".join(get_datasets()),


def get_evaluate_inputs(wildcards):
    """Everything evaluate_metrics reads: the method's and the random-init baseline's features and
    predictions on the same splits, the splits and the FR baseline scores."""
    inputs = {}
    for role, encoder in (("model", wildcards.method), ("baseline", RANDOM_INIT)):
        prefix = f"results/regress/{wildcards.dataset}/{encoder}"
        inputs[f"{role}_features"] = f"results/extract/{encoder}/{wildcards.dataset}.zarr"
        inputs[f"{role}_predictions"] = f"{prefix}/predictions.csv"
        inputs[f"{role}_run"] = f"{prefix}/mlflow_run.json"
    inputs["splits"] = f"results/regress/{wildcards.dataset}/splits.json"
    inputs["table"] = f"results/regress/{wildcards.dataset}/table.csv"
    inputs["fr_scores"] = f"results/evaluate/baselines/{wildcards.dataset}/fr_scores.csv"
    inputs["fr_run"] = f"results/evaluate/baselines/{wildcards.dataset}/mlflow_run.json"
    return inputs


def get_checkpoint_dir(wildcards):
    """Per-epoch checkpoints, outside the rule's outputs so an interrupted job resumes from them."""
    return f"results/checkpoints/{wildcards.method}"


# Issue 3: the distortion bank's optional outputs (gallery, composite chains, DPS triplets and their 2AFC scores).

#: The DPS 2AFC evaluation runs the DPS library (distortions) with the evaluate, features and models code.
STAGE_PACKAGES["evaluate_dps"] = ("distortions", "evaluate", "features", "models", "data")


def get_distort_params():
    """The `distort` section as distort_references uses it: without `dps` and `gallery` (other rules' keys) and
    without `composite` unless it is enabled, so those settings never rerun the bank."""
    section = {k: v for k, v in config["distort"].items() if k not in ("dps", "gallery")}
    if not (section.get("composite") or {}).get("enabled", False):
        section.pop("composite", None)
    return section


def get_gallery_params():
    """What distort_gallery draws: the bank's references, crop, types, scheme and seed plus `distort.gallery`."""
    keys = ("references", "resize", "crop", "scheme", "types", "seed", "gallery")
    return {k: config["distort"][k] for k in keys if k in config["distort"]}


def dps_enabled():
    return bool((config["distort"].get("dps") or {}).get("enabled", False))


def get_dps_params():
    """`distort.dps` without `enabled` (which only decides whether the target is requested)."""
    return {k: v for k, v in (config["distort"].get("dps") or {}).items() if k != "enabled"}


def get_distort_extra_outputs():
    """Final targets beyond the metrics: the gallery, and the DPS 2AFC scores when `distort.dps.enabled`."""
    outputs = ["results/distort/gallery.png"]
    if dps_enabled():
        outputs.append("results/evaluate/dps/2afc.json")
    return outputs
