"""The fault-injection suite (`make test-faults`): every test here is marked ``faults``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The tiny workflow config and snakemake runner of tests/workflow (workflow_support), also when only this folder runs.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/faults/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.faults)
