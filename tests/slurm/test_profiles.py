"""The SLURM profiles fit the node they describe, cover every rule, and build one task per multi-GPU job."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from profile_support import (
    PROFILES,
    ROOT,
    gpu_rules,
    load_profile,
    plan,
    profile_node,
    workflow_rules,
)

pytest.importorskip("snakemake_executor_plugin_slurm", reason="pip install '.[slurm]' (make test-slurm does)")


@pytest.mark.parametrize("name", PROFILES)
def test_profile_covers_every_rule_and_nothing_else(name: str) -> None:
    profile = load_profile(name)
    rules = set(workflow_rules())
    assert set(profile["set-threads"]) == rules, "set-threads must list every rule (and only rules)"
    assert set(profile["set-resources"]) <= rules, "set-resources names a rule that does not exist"
    if name != "slurm-small":  # the test profile sets defaults only, apart from the GPU rules
        assert set(profile["set-resources"]) == rules
    for rule in gpu_rules():
        assert "gpu" in profile["set-resources"][rule], f"{rule} declares a GPU; the profile must decide it"


@pytest.mark.parametrize("name", PROFILES)
def test_requests_fit_the_node_in_the_comment(name: str) -> None:
    profile, node = load_profile(name), profile_node(name)
    assert profile["max-threads"] <= node.cpus
    assert all(threads <= profile["max-threads"] for threads in profile["set-threads"].values())
    defaults = profile.get("default-resources", {})
    for rule, resources in profile["set-resources"].items():
        merged = {**defaults, **resources}
        assert merged.get("mem_mb", 0) <= node.mem_mb, rule
        assert merged.get("gpu", 0) <= node.gpus, rule
        if node.gpus == 0:
            assert merged.get("gpu") == 0 or rule not in gpu_rules(), f"{rule} would ask a GPU-less node for --gpus"
    assert profile["slurm-status-command"] == "squeue", "sacct hangs on clusters without accounting"


@pytest.mark.parametrize("name", ["slurm", "slurm-cpu"])
def test_demo_plan_fits_the_node(name: str, tmp_path: Path) -> None:
    profile, node = load_profile(name), profile_node(name)
    jobs = plan(name, ROOT / "config.yaml", tmp_path)
    assert {job.rule for job in jobs} >= {"distort_references", "train_encoder", "extract_features", "regress_ridge"}
    for job in jobs:
        assert job.threads <= profile["max-threads"], job
        assert job.threads == min(profile["set-threads"][job.rule], profile["max-threads"]), job
        assert int(job.resources["mem_mb"]) <= node.mem_mb, job
        assert int(job.resources.get("gpu", 0)) <= node.gpus, job
        assert "runtime" in job.resources, job
    train = next(job for job in jobs if job.rule == "train_encoder")
    assert train.resources.get("gpu", "0") == ("1" if node.gpus else "0")


class _Resources(dict):
    """What the plugin reads from a job's resources: ``.get`` and attribute access."""

    def __getattr__(self, key: str) -> object:
        return self[key]


def _train_job(gpus: int, **extra: object) -> SimpleNamespace:
    """train_encoder as profiles/slurm requests it, on ``gpus`` GPUs."""
    profile = load_profile("slurm")
    resources = _Resources({**profile["default-resources"], **profile["set-resources"]["train_encoder"]})
    resources.update(gpu=gpus, **extra)
    threads = min(profile["set-threads"]["train_encoder"], profile["max-threads"])
    return SimpleNamespace(name="train_encoder", threads=threads, resources=resources)


def _sbatch(job: SimpleNamespace) -> str:
    from snakemake_executor_plugin_slurm.submit_string import get_submit_command
    from snakemake_executor_plugin_slurm.utils import set_gres_string

    params = {
        "run_uuid": "run",
        "slurm_logfile": "log",
        "comment_str": "rule_train_encoder",
        "account": "",
        "partition": f"-p {job.resources['slurm_partition']}",
        "workdir": "/work",
    }
    return get_submit_command(job, params) + set_gres_string(job)


def test_multi_gpu_training_is_one_task_holding_every_gpu() -> None:
    from snakemake_executor_plugin_slurm_jobstep import get_cpu_setting, get_gpu_setting

    job = _train_job(4)
    call = _sbatch(job).split()
    assert "--gpus=4" in call and "-p" in call and call[call.index("-p") + 1] == "gpu"
    assert not [flag for flag in call if flag.startswith(("--ntasks", "--gpus-per-task"))], call
    assert f"--cpus-per-task={job.threads}" in call  # the threads are the job's CPUs, for all ranks together
    # Inside the allocation the job step is `srun -n1 <these> snakemake ...`: one task, torchrun starts the ranks.
    assert get_gpu_setting(job) == "--gpus=4"
    assert get_cpu_setting(job, True) == f"--cpus-per-task={job.threads}"
    # tasks_per_gpu: 0 keeps it one task even when someone adds `tasks` (the plugin would split the GPUs otherwise).
    assert "--ntasks-per-gpu" not in _sbatch(_train_job(4, tasks=1))
    unguarded = _train_job(4, tasks=1)
    del unguarded.resources["tasks_per_gpu"]
    assert "--ntasks-per-gpu=1" in _sbatch(unguarded)
