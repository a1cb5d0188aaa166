"""Provenance of exported metric files: file fingerprints and plain-data records (2D and 3D exports)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from perceptflow.types import PathLikeStr


def file_sha256(path: PathLikeStr) -> str:
    """Hex SHA-256 of a file's bytes (the data fingerprint recorded as provenance)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def plain_provenance(value: Any) -> Any:
    """Provenance as strings, numbers and containers of them (what a metric file may hold)."""
    if isinstance(value, Mapping):
        return {str(k): plain_provenance(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_provenance(v) for v in value]
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)
