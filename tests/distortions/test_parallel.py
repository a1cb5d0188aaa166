"""Scheduler choice for the distort stage: local schedulers by name, process pools safe under rule scripts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dask
import pytest

from perceptflow.distortions.parallel import SCHEDULER_ENV, compute_tasks, resolve_scheduler


def test_resolve_scheduler__argument_then_environment_then_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    assert resolve_scheduler() == "threads"
    monkeypatch.setenv(SCHEDULER_ENV, "processes")
    assert resolve_scheduler() == "processes"
    assert resolve_scheduler("synchronous") == "synchronous"


def test_compute_tasks__keeps_task_order_on_local_threads() -> None:
    tasks = [dask.delayed(pow)(i, 2) for i in range(6)]
    assert compute_tasks(tasks, threads=2, scheduler="threads") == [0, 1, 4, 9, 16, 25]


def test_processes__do_not_rerun_an_unguarded_main_script(tmp_path: Path) -> None:
    """Snakemake runs rule scripts as `python script.py` without a __main__ guard; spawned workers must not rerun it."""
    script = tmp_path / "rule_script.py"
    script.write_text(
        "import dask\n"
        "from perceptflow.distortions.parallel import compute_tasks\n"
        "print('script body ran', flush=True)\n"
        "print(compute_tasks([dask.delayed(abs)(-i) for i in range(4)], threads=2, scheduler='processes'))\n"
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("script body ran") == 1
    assert "[0, 1, 2, 3]" in result.stdout
