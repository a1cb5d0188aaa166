"""A two-rule Snakemake workflow whose jobs open perceptflow stage runs: small enough to run 8 at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SNAKEFILE = """
from perceptflow.tracking import TrackingSettings, init_tracking, reap_stale_runs

SETTINGS = TrackingSettings(experiment="faults", tracking_uri=config["uri"])
JOB = f"{config['python']} job.py {config['uri']} {config.get('sleep', 0)}"


onstart:
    reap_stale_runs(SETTINGS, init_tracking(SETTINGS))


rule all:
    input: "b/run.json"


rule distort_a:
    output: run="a/run.json"
    shell: JOB + " distort distort_a {output.run} none"


rule train_b:
    input: rules.distort_a.output.run
    output: run="b/run.json"
    shell: JOB + " train train_b {output.run} {input}"
"""

#: One job: a stage run in its own process, as a `script:` job is (signal handlers need a main thread).
JOB = """
import sys, time
from perceptflow.tracking import TrackingSettings, stage_run
uri, sleep, stage, rule, run_file, upstream = sys.argv[1:]
settings = TrackingSettings(experiment="faults", tracking_uri=uri)
upstream_files = [] if upstream == "none" else [upstream]
with stage_run(stage=stage, rule=rule, run_file=run_file, settings=settings, upstream_run_files=upstream_files) as r:
    r.log_metrics({"loss": 1.0}, step=1)
    if stage == "distort":
        time.sleep(float(sleep))
"""


def write_workflow(folder: Path) -> Path:
    """The two-rule Snakefile (and its job script) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "Snakefile"
    path.write_text(SNAKEFILE)
    (folder / "job.py").write_text(JOB)
    return path


def snakemake(folder: Path, uri: str, *extra: str, sleep: float = 0) -> subprocess.Popen:
    """Start snakemake on the two-rule workflow in ``folder`` (one core, output captured)."""
    command = [
        str(Path(sys.executable).parent / "snakemake"),
        "-s",
        str(folder / "Snakefile"),
        "-d",
        str(folder),
        "--cores",
        "1",
        "--config",
        f"uri={uri}",
        f"sleep={sleep}",
        f"python={sys.executable}",
        *extra,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=folder)
