"""Config validation and the small functions rules use for params, inputs and targets; library knowledge comes
from the torch-free `perceptflow.wiring`."""

from pathlib import Path

from snakemake.utils import validate

from perceptflow import config_checks, wiring
from perceptflow.data.volumes.datasets import is_volume_dataset
from perceptflow.wiring import canonical, variant_pattern

# duplicate YAML keys, naming file and line
config_checks.check_config_files(workflow.configfiles)
validate(config, schema="../workflow/schemas/config.schema.yaml")
config_checks.check_config(config)  # cross-key rules (docs/reliability.md)

RANDOM_INIT = "random_init"


def code_version(script):
    """Hash of the library code ``scripts/<script>.py`` imports (its import closure): a param, so editing that
    code reruns the rule and what depends on it, and nothing else."""
    return wiring.code_version(str(Path(workflow.basedir) / "scripts" / f"{script}.py"))


def get_trained_methods():
    return list(config["train"].get("methods") or [config["train"]["method"]])


def get_encoders():
    """Encoders whose features are extracted: every trained method plus the random-init baseline."""
    return [*get_trained_methods(), RANDOM_INIT]


def get_datasets():
    """2D (image) rated datasets; 3D ones (`synthetic_volumes`, csv of NIfTI files) are `get_volume_datasets()`,
    2AFC ones (`bapps`) `get_bapps_datasets()`."""
    # sorted: the config's key order never changes a rule's inputs or params
    return sorted(
        name
        for name, spec in config["datasets"].items()
        if not is_volume_dataset(spec) and not wiring.is_bapps_dataset(spec)
    )


def get_volume_datasets():
    return sorted(
        name for name, spec in config["datasets"].items() if is_volume_dataset(spec)
    )


def get_bapps_datasets():
    """2AFC datasets (kind `bapps`): scored with each encoder's exported metric, not extracted or regressed."""
    return sorted(
        name
        for name, spec in config["datasets"].items()
        if wiring.is_bapps_dataset(spec)
    )


def get_bapps_outputs():
    return expand(
        "results/evaluate/bapps/{dataset}/scores.json", dataset=get_bapps_datasets()
    )


def get_bapps_judgements(wildcards):
    """The human-judgement folders, so a changed download reruns the scoring."""
    return wiring.bapps_score_folders(config["datasets"][wildcards.dataset])


def get_dataset_spec(wildcards):
    return canonical(config["datasets"][wildcards.dataset])


def get_dataset_inputs(wildcards):
    """Files a dataset is built from: the distort outputs for `synthetic`, the user's CSV for `csv`, the score
    files of a rated kind (`live2`, `csiq`, ...)."""
    spec = config["datasets"][wildcards.dataset]
    if spec["kind"] == "synthetic":
        return {
            "manifest": rules.distort_references.output.manifest,
            "images": rules.distort_references.output.images,
            "distort_run": rules.distort_references.output.run,
        }
    rated = wiring.rated_score_files(spec)  # a standard rated set: its score files
    return {"manifest": spec["path"] if rated is None else rated}


def get_reference_files(wildcards):
    """Reference image files when they come from a user folder (so new or edited files rerun distort)."""
    return wiring.reference_files(config["distort"]["references"])


def get_train_params(wildcards):
    """The settings this method trains with: the shared `train` keys, its own section (`mixup`) and
    `train.overrides.<method>`; another method's override or section never reruns it."""
    return canonical(
        wiring.resolve_method_params(config["train"], wildcards.method, validate=False)
    )


def get_random_init_params(wildcards):
    return canonical(
        {"arch": config["train"]["arch"], "seed": config["train"]["random_init_seed"]}
    )


def get_split_params(wildcards):
    regress = config["regress"]
    return canonical({k: regress[k] for k in ("n_splits", "fractions", "seed")})


def get_train_threads(wildcards):
    """Training threads: 8, capped at --cores by Snakemake; profiles override with set-threads."""
    return 8


def get_final_outputs():
    """Every metrics.json, the report, the gallery; 2D targets only when a 2D dataset is listed (a medical-only
    config runs the 3D rules alone), 3D targets when the config has a `volumes:` section.
    """
    volume_metrics = get_volume_final_outputs()
    summary = ["results/report/summary.csv", "results/report/summary.png"]
    if not get_datasets():
        return [
            *volume_metrics,
            *(summary if volume_metrics else []),
            *get_volume_extra_outputs(),
        ]
    metrics = expand(
        "results/evaluate/{method}/{dataset}/metrics.json",
        method=get_trained_methods(),
        dataset=get_datasets(),
    )
    return [
        *metrics,
        *volume_metrics,
        *summary,
        *get_distort_extra_outputs(),
        *get_volume_extra_outputs(),
    ]


def init_mlflow():
    """Create the tracking database and experiment once, before jobs run in parallel ("database is locked"); start
    the opt-in tracking server (`mlflow.server`); stop with one message when a tracking server does not answer;
    mark KILLED the RUNNING runs of this host whose process is gone (a SIGKILLed or OOM-killed job).
    """
    from perceptflow.tracking import TrackingSettings, init_tracking, reap_stale_runs
    from perceptflow.tracking.server import require_reachable, start_for_workflow

    settings = TrackingSettings.from_config(config.get("mlflow"))
    if not settings.enabled:
        return
    start_for_workflow((config.get("mlflow") or {}).get("server"))
    require_reachable(settings.resolved_uri())
    experiment_id = init_tracking(settings)
    if experiment_id is not None:
        reap_stale_runs(settings, experiment_id)


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
        inputs[f"{role}_features"] = (
            f"results/extract/{encoder}/{wildcards.dataset}.zarr"
        )
        inputs[f"{role}_predictions"] = f"{prefix}/predictions.csv"
        inputs[f"{role}_run"] = f"{prefix}/mlflow_run.json"
    inputs["splits"] = f"results/regress/{wildcards.dataset}/splits.json"
    inputs["table"] = f"results/regress/{wildcards.dataset}/table.csv"
    inputs["fr_scores"] = (
        f"results/evaluate/baselines/{wildcards.dataset}/fr_scores.csv"
    )
    inputs["fr_skips"] = f"results/evaluate/baselines/{wildcards.dataset}/fr_skips.json"
    inputs["fr_run"] = f"results/evaluate/baselines/{wildcards.dataset}/mlflow_run.json"
    return inputs


def get_extract_partial_dir(wildcards):
    """Unfinished feature stores, outside the rule's outputs so an interrupted extraction resumes from them."""
    return f"results/partial/extract/{wildcards.encoder}/{wildcards.dataset}"


def get_checkpoint_dir(wildcards):
    """Per-epoch checkpoints, outside the rule's outputs so an interrupted job resumes from them."""
    return f"results/checkpoints/{wildcards.method}"


# The distortion bank's optional outputs (gallery, composite chains, DPS triplets and their 2AFC scores).


def get_distort_params():
    """The `distort` section as distort_references uses it: without `dps` and `gallery` (other rules' keys) and
    without `composite` unless it is enabled, so those settings never rerun the bank."""
    section = {
        k: v for k, v in config["distort"].items() if k not in ("dps", "gallery")
    }
    if not (section.get("composite") or {}).get("enabled", False):
        section.pop("composite", None)
    return canonical(section)


def get_gallery_params():
    """What distort_gallery draws: the bank's references, crop, types, scheme and seed plus `distort.gallery`."""
    keys = ("references", "resize", "crop", "scheme", "types", "seed", "gallery")
    return canonical({k: config["distort"][k] for k in keys if k in config["distort"]})


def dps_enabled():
    return bool((config["distort"].get("dps") or {}).get("enabled", False))


def get_dps_params():
    """`distort.dps` without `enabled` (which only decides whether the target is requested)."""
    return canonical(
        {
            k: v
            for k, v in (config["distort"].get("dps") or {}).items()
            if k != "enabled"
        }
    )


def get_distort_extra_outputs():
    """Final targets beyond the metrics: the gallery, and the DPS 2AFC scores when `distort.dps.enabled`."""
    outputs = ["results/distort/gallery.png"]
    if dps_enabled():
        outputs.append("results/evaluate/dps/2afc.json")
    return outputs
