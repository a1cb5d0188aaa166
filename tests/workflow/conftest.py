"""One real workflow run on a tiny config, shared by every integration test (it takes a few minutes)."""

from __future__ import annotations

import time

import pytest
import yaml
from bapps_fixture import make_bapps
from workflow_support import ROOT, WorkflowRun, run_snakemake, tiny_config


@pytest.fixture(scope="session")
def workflow_run(tmp_path_factory: pytest.TempPathFactory) -> WorkflowRun:
    live_csv = ROOT.parent / "shared" / "data" / "live-jpeg-dev" / "scores.csv"
    workdir = tmp_path_factory.mktemp("workflow")
    config = tiny_config(live_csv if live_csv.is_file() else None)
    # a 2AFC set in BAPPS's official layout: scored by evaluate_bapps with every encoder's exported metric
    config["datasets"]["bapps"] = {"kind": "bapps", "path": str(make_bapps(workdir / "bapps", per_subset=4))}
    config_path = workdir / "tiny.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    start = time.perf_counter()
    # Each job records the perceptflow modules it imported: test_each_rule_runs_only_code_its_hash_covers
    imports = {"PERCEPTFLOW_IMPORTS_LOG": str(workdir / "imports")}
    result = run_snakemake(workdir, config_path, "--cores", "2", env=imports)
    return WorkflowRun(workdir, config_path, config, time.perf_counter() - start, result.stdout + result.stderr)
