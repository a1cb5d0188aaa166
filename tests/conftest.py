"""Shared fixtures and paths."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIVE_JPEG = ROOT.parent / "shared" / "data" / "live-jpeg-dev"


@pytest.fixture(scope="session")
def live_jpeg_dir() -> Path:
    """The LIVE JPEG development subset beside the checkout (../shared/data/live-jpeg-dev)."""
    if not (LIVE_JPEG / "scores.csv").is_file():
        pytest.skip(f"LIVE JPEG subset not found at {LIVE_JPEG}")
    return LIVE_JPEG
