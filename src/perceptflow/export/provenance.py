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


def encoder_record(
    encoder: PathLikeStr, payload: Mapping[str, Any], provenance: Mapping[str, Any] | None
) -> dict[str, Any]:
    """What a metric file records of its encoder file (path, SHA-256, method, training config) plus ``provenance``."""
    return {
        "method": payload["method"],
        "encoder_file": str(encoder),
        "encoder_sha256": file_sha256(encoder),
        "encoder_config": payload.get("metadata", {}).get("config"),
        **dict(provenance or {}),
    }
