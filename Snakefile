"""perceptflow: learn a perceptual quality metric without human labels.

distort -> train -> extract -> regress -> evaluate -> report; each rule is one MLflow run.
Run: snakemake --cores all   (conda users: snakemake --cores all --use-conda)
"""

import os
import uuid

from snakemake.utils import min_version

min_version("9.0")


# `--configfile X` replaces the embedded demo rather than merging into it, so a medical-only or LIVE config never
# drags the 2D demo's sections along; with no --configfile the demo (config.yaml) runs, `--config k=v` on top.
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


# One id for this workflow execution, tagged on every MLflow run. Set before `envvars:` so cluster jobs inherit it;
# never a param (it would rerun everything).
os.environ.setdefault("PERCEPTFLOW_EXECUTION_ID", uuid.uuid4().hex)
# The conda envs' post-deploy scripts install perceptflow from this checkout (envs/*.post-deploy.sh).
os.environ.setdefault("PERCEPTFLOW_SOURCE", workflow.basedir)


envvars:
    "PERCEPTFLOW_EXECUTION_ID",


report: "workflow/report/workflow.rst"


include: "rules/common.smk"
include: "rules/distort.smk"
include: "rules/train.smk"
include: "rules/extract.smk"
include: "rules/regress.smk"
include: "rules/evaluate.smk"
include: "rules/report.smk"
include: "rules/metric_common.smk"
include: "rules/metric.smk"
include: "rules/evaluate_bapps.smk"
include: "rules/adapt_dps.smk"
include: "rules/volumes_common.smk"
include: "rules/distort_volumes.smk"
include: "rules/train_volumes.smk"
include: "rules/extract_volumes.smk"
include: "rules/evaluate_volumes.smk"
include: "rules/metric_volumes.smk"


onstart:
    init_mlflow()
    # every file a rule will read, headers only, before any compute (docs/reliability.md)
    config_checks.preflight(config)


rule all:
    default_target: True
    input:
        get_final_outputs(),
        get_adapt_dps_outputs(),
        get_metric_outputs(),
        get_bapps_outputs(),
        get_volume_metric_outputs(),
