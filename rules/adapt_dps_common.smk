# Functions of rules/adapt_dps.smk (config section `adapt_dps`): which encoders and variants run, params, inputs,
# targets. Kept apart from the rule because snakemake --lint asks for functions and rules in separate files.


def get_adapt_dps_section():
    return dict(config.get("adapt_dps") or {})


def adapt_dps_enabled():
    enabled = bool(get_adapt_dps_section().get("enabled", False))
    if enabled and not dps_enabled():
        raise ValueError(
            "adapt_dps.enabled: true needs the DPS triplets: set distort.dps.enabled: true"
        )
    return enabled


def get_adapt_dps_weights():
    """`adapt_dps.weights`: extra pretrained encoders by name, each a local file (perceptflow encoder or a
    torchvision state dict); never downloaded."""
    return dict(get_adapt_dps_section().get("weights") or {})


def get_adapt_dps_encoders():
    """Encoders adapted: `adapt_dps.encoders`, default every trained method (plus every `adapt_dps.weights` name)."""
    section = get_adapt_dps_section()
    encoders = list(
        section.get("encoders") or [*get_trained_methods(), *get_adapt_dps_weights()]
    )
    known = {*get_encoders(), *get_adapt_dps_weights()}
    unknown = [name for name in encoders if name not in known]
    if unknown:
        raise ValueError(
            f"adapt_dps.encoders: {unknown} are neither workflow encoders ({get_encoders()}) nor names in "
            "adapt_dps.weights"
        )
    return encoders


def get_adapt_dps_variants():
    variants = list(get_adapt_dps_section().get("variants") or ["lin"])
    unknown = [name for name in variants if name not in wiring.VARIANTS]
    if unknown:
        raise ValueError(
            f"adapt_dps.variants: unknown {unknown}; valid: {list(wiring.VARIANTS)}"
        )
    return variants


def get_adapt_dps_params(wildcards):
    """The `adapt_dps` section without what only decides which jobs run (enabled, encoders, variants, weights)."""
    skip = {"enabled", "encoders", "variants", "weights"}
    return canonical(
        {k: v for k, v in get_adapt_dps_section().items() if k not in skip}
    )


def get_bank_datasets():
    """Datasets built from the distort bank (kind `synthetic`): the adapted distance's FR rows join theirs."""
    return [
        name
        for name in get_datasets()
        if config["datasets"][name]["kind"] == "synthetic"
    ]


def get_adapt_dps_inputs(wildcards):
    """The DPS triplets and the pretrained encoder: a workflow encoder (with its run) or a local weights file."""
    inputs = {
        "triplets": rules.distort_dps_triplets.output.triplets,
        "images": rules.distort_dps_triplets.output.images,
        "triplets_run": rules.distort_dps_triplets.output.run,
        # The distort bank: the adapted metric is also scored on the synthetic set (SRCC vs level).
        "manifest": rules.distort_references.output.manifest,
        "bank_images": rules.distort_references.output.images,
    }
    weights = get_adapt_dps_weights()
    if wildcards.encoder in weights:
        inputs["encoder"] = weights[wildcards.encoder]
    else:
        inputs["encoder"] = f"results/train/{wildcards.encoder}/encoder.pt"
        inputs["encoder_run"] = f"results/train/{wildcards.encoder}/mlflow_run.json"
    return inputs


def get_adapt_dps_outputs():
    """Final targets: every (encoder, variant)'s held-out 2AFC when `adapt_dps.enabled`, else nothing."""
    if not adapt_dps_enabled():
        return []
    return expand(
        "results/adapt_dps/{encoder}/{variant}/2afc.json",
        encoder=get_adapt_dps_encoders(),
        variant=get_adapt_dps_variants(),
    )
