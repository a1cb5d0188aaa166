"""Helpers for the integration tests: the tiny config, running snakemake, reading dry-run plans."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TINY_SOURCES = ["astronaut", "camera", "chelsea", "coffee", "rocket", "china"]
#: Every 2D method trains in the shared run (a tiny end-to-end run per method).
TINY_METHODS = ("contrique", "simclr", "mixup")


def tiny_config(live_csv: Path | None) -> dict:
    """Six references at 64 px, three types x three levels, four epochs, three splits; DPS triplets and `lin`
    adaptation over CONTRIQUE.

    lr 0.6 (CONTRIQUE's) makes the loss fall clearly within the 12 steps this tiny set gives (9.97 -> 8.50).
    """
    datasets = {"synthetic": {"kind": "synthetic"}}
    if live_csv is not None:
        datasets["live"] = {
            "kind": "csv",
            "path": str(live_csv),
            "score_column": "dmos",
            "higher_is_better": False,
        }
    return {
        "distort": {
            "seed": 0,
            "references": {"kind": "demo", "names": TINY_SOURCES},
            "resize": 64,
            "crop": 64,
            "types": ["gaussian_blur", "white_noise", "jpeg"],
            "levels": [1, 3, 5],
            "dps": {"enabled": True, "n_triplets": 60, "rankings": 1, "seed": 0},
        },
        "train": {
            "method": "contrique",
            "methods": list(TINY_METHODS),
            "arch": "resnet18",
            "epochs": 4,
            "batch_size": 16,
            "lr": 0.6,  # CONTRIQUE's; on these 12 steps the loss falls clearly (9.97 -> 8.50)
            "crop_size": 48,
            "overrides": {"simclr": {"temperature": 0.2}},  # reaches simclr's rule and MLflow run only
        },
        # DPS adaptation end to end: lin over the CONTRIQUE encoder, two quick epochs on the 60 context triplets.
        "adapt_dps": {
            "enabled": True,
            "encoders": ["contrique"],
            "variants": ["lin"],
            "epochs": 2,
            "layers": ["layer1", "layer2"],
        },
        "extract": {"batch_size": 32},
        "regress": {"n_splits": 3, "alphas": [0.1, 1.0, 10.0], "seed": 0},
        "evaluate": {"fr_distance": "l2"},
        "datasets": datasets,
    }


@dataclass
class WorkflowRun:
    """A finished workflow run in its own directory."""

    workdir: Path
    config_path: Path
    config: dict
    seconds: float
    output: str

    def snakemake(
        self, *args: str, config: dict | None = None, env: dict | None = None, check: bool = True
    ) -> subprocess.CompletedProcess:
        """Run snakemake on this workdir (optionally with another config) and capture its output."""
        config_path = self.config_path
        if config is not None:
            config_path = self.workdir / f"config-{abs(hash(yaml.safe_dump(config, sort_keys=False)))}.yaml"
            config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        return run_snakemake(self.workdir, config_path, *args, env=env, check=check)


def run_snakemake(
    workdir: Path, config_path: Path, *args: str, env: dict | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    command = [
        str(BIN / "snakemake"),
        "-s",
        str(ROOT / "Snakefile"),
        "-d",
        str(workdir),
        "--configfile",
        str(config_path),
        *args,
    ]
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PERCEPTFLOW_"))}
    environment.update(env or {})
    result = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=workdir)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}")
    return result


def planned_jobs(result: subprocess.CompletedProcess) -> dict[str, int]:
    """Rule -> job count from a dry run's "Job stats" table (empty when nothing is planned)."""
    text = result.stdout + result.stderr
    if "Job stats:" not in text:
        return {}
    table = text.split("Job stats:", 1)[1].splitlines()
    jobs = {}
    for line in table[3:]:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        jobs[parts[0]] = int(parts[1])
    return jobs


def pending_outputs(result: subprocess.CompletedProcess, rule: str) -> list[str]:
    """Outputs of ``rule`` that a ``--detailed-summary`` (``-D``) run says would be updated ("update pending")."""
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    header = rows[0] if rows else []
    if "rule" not in header or "plan" not in header:
        raise AssertionError(f"not a --detailed-summary table:\n{result.stdout[:2000]}")
    rule_at, plan_at = header.index("rule"), header.index("plan")
    return sorted(
        row[0]
        for row in rows[1:]
        if len(row) == len(header) and row[rule_at] == rule and row[plan_at] == "update pending"
    )


def edited_package(tmp_path: Path, module: str) -> dict[str, str]:
    """A copy of the perceptflow sources with ``module`` (path below the package) edited, as a PYTHONPATH env."""
    copy_root = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "perceptflow", copy_root / "perceptflow")
    path = copy_root / "perceptflow" / module
    path.write_text(path.read_text() + "\n# edited\n")
    return {"PYTHONPATH": str(copy_root)}


def assert_rules_ran_only_hashed_code(workdir: Path) -> None:
    """Every job's imported perceptflow modules (recorded under ``workdir/imports``) lie in its script's import
    closure, the code its `code` param hashes."""
    from perceptflow import wiring

    root = wiring.package_root()
    logs = sorted((workdir / "imports").glob("*/*.txt"))
    assert logs, "no job recorded its imports"
    for log in logs:
        rule = log.parent.name
        closure = set(wiring.import_closure(ROOT / "scripts" / f"{rule}.py", root))
        imported = {wiring.module_file(name, root) for name in log.read_text().split()}
        missing = sorted(str(path.relative_to(root)) for path in imported - closure if path is not None)
        assert not missing, f"rule {rule} ran modules outside its code hash: {missing}"
