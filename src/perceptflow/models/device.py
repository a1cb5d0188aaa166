"""Choosing the torch device to train or extract on."""

from __future__ import annotations

import torch


def pick_device(preference: str = "auto") -> torch.device:
    """Resolve a device preference.

    Args:
        preference: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:<index>"``.

    Raises:
        ValueError: the preference is not one of the forms above.
        RuntimeError: CUDA was asked for but is not available, or the index is out of range.
    """
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if preference == "cpu":
        return torch.device("cpu")
    if preference == "cuda" or preference.startswith("cuda:"):
        return _cuda_device(preference)
    raise ValueError(f"unknown device {preference!r}; use 'auto', 'cpu', 'cuda' or 'cuda:<index>'")


def _cuda_device(preference: str) -> torch.device:
    try:
        device = torch.device(preference)
    except RuntimeError as error:
        raise ValueError(f"invalid CUDA device {preference!r}: {error}") from error
    if not torch.cuda.is_available():
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "no CUDA support"
        raise RuntimeError(
            f"device {preference!r} requested but CUDA is not available (torch {torch.__version__}, "
            f"built with {build}); use 'cpu' or 'auto'"
        )
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise RuntimeError(f"device {preference!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist")
    return device
