"""Reading the SLURM profiles, the rules they cover and the jobs a dry run plans with them."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ("slurm", "slurm-cpu", "slurm-small")

# A dry run prints a rule's message instead of its threads and resources; this prints the full job block.
_FULL_JOB_INFO = (
    "import snakemake.logging as L\n"
    "L.DefaultFormatter.format_job_info = lambda self, msg: '\\n'.join(self._format_job_info(msg))\n"
    "from snakemake.cli import main\n"
    "main()\n"
)


@dataclass(frozen=True)
class Node:
    """The node a profile's requests must fit (its ``# node: cpus=.. mem_mb=.. gpus=..`` comment)."""

    cpus: int
    mem_mb: int
    gpus: int


@dataclass(frozen=True)
class PlannedJob:
    """One job of a dry run: its rule, threads and resources."""

    rule: str
    threads: int
    resources: dict[str, str]


def profile_path(name: str) -> Path:
    return ROOT / "profiles" / name / "profile.yaml"


def load_profile(name: str) -> dict:
    return yaml.safe_load(profile_path(name).read_text())


def profile_node(name: str) -> Node:
    match = re.search(r"^# node: cpus=(\d+) mem_mb=(\d+) gpus=(\d+)$", profile_path(name).read_text(), re.M)
    assert match, f"profiles/{name}/profile.yaml lacks its '# node: cpus=.. mem_mb=.. gpus=..' comment"
    return Node(*(int(value) for value in match.groups()))


def workflow_rules() -> dict[str, str]:
    """Rule name -> its source block, for every rule in rules/*.smk (``all`` excluded)."""
    rules = {}
    for path in sorted((ROOT / "rules").glob("*.smk")):
        blocks = re.split(r"^(?=rule \w+:)", path.read_text(), flags=re.M)
        for block in blocks:
            if match := re.match(r"rule (\w+):", block):
                rules[match.group(1)] = block
    return rules


def gpu_rules() -> set[str]:
    """Rules that declare a GPU resource themselves."""
    return {name for name, block in workflow_rules().items() if re.search(r"^\s+gpu=", block, re.M)}


def plan(profile: str, config: Path, workdir: Path) -> list[PlannedJob]:
    """The jobs ``snakemake -n --workflow-profile profiles/<profile>`` plans for ``config``.

    ``--cores`` is lifted: a dry run caps threads at one core, a cluster run does not (only ``max-threads`` does).
    """
    command = [
        *(sys.executable, "-c", _FULL_JOB_INFO, "-s", str(ROOT / "Snakefile"), "-d", str(workdir)),
        *("--configfile", str(config), "--workflow-profile", str(ROOT / "profiles" / profile)),
        *("-n", "--cores", "4096"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=workdir)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return parse_plan(result.stdout + result.stderr)


def parse_plan(text: str) -> list[PlannedJob]:
    jobs = []
    for block in re.split(r"^(?=rule \w+:$)", text, flags=re.M):
        match = re.match(r"rule (\w+):$", block, re.M)
        if not match or match.group(1) == "all":
            continue
        threads = re.search(r"^    threads: (\d+)$", block, re.M)
        resources_line = re.search(r"^    resources: (.*)$", block, re.M)
        assert resources_line, f"no resources in the plan of rule {match.group(1)}"
        resources = dict(item.split("=", 1) for item in resources_line.group(1).split(", "))
        jobs.append(PlannedJob(match.group(1), int(threads.group(1)) if threads else 1, resources))
    return jobs
