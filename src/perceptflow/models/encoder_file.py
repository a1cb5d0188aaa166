"""Saving and loading trained encoders as plain ``torch.save`` payloads readable with ``weights_only=True``.

Payload (a dict): ``format`` (`ENCODER_FORMAT`), ``arch``, ``feature_dim``, ``method`` (the SSL method that
trained it), ``metadata`` (plain Python data: config, history, ...) and ``state_dict`` (CPU tensors).
"""

from __future__ import annotations

import errno
import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import Tensor, nn

from perceptflow.models.encoder import ARCHS, Encoder, build_encoder
from perceptflow.types import PathLikeStr

M = TypeVar("M", bound=nn.Module)

#: Value of the payload's ``format`` key; bump the suffix when the layout changes.
ENCODER_FORMAT = "perceptflow.encoder/1"
_PLAIN = (str, int, float, bool, type(None))


class EncoderFileError(ValueError):
    """A file is not a perceptflow encoder or does not match its architecture; the message names the file."""


def _write_file(path: Path, data: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def atomic_torch_save(obj: Any, path: PathLikeStr) -> None:
    """``torch.save`` to a temporary file beside ``path``, then ``os.replace`` it into place.

    The bytes are serialised in memory and written by Python, so a full disk raises ``OSError`` (ENOSPC) naming
    ``path`` and "no space left on device", never torch's ``unexpected pos``; ``path`` keeps its previous content.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    try:
        _write_file(tmp, buffer.getvalue())
        os.replace(tmp, path)
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
        raise OSError(errno.ENOSPC, f"no space left on device while writing {path}; free space and rerun") from error
    finally:
        tmp.unlink(missing_ok=True)


def _check_plain(value: Any, where: str) -> None:
    if isinstance(value, _PLAIN):
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_plain(item, f"{where}[{index}]")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where} has a non-string key {key!r}; metadata must be plain JSON-like data")
            _check_plain(item, f"{where}[{key!r}]")
    else:
        raise ValueError(
            f"{where} is a {type(value).__name__}; metadata must be plain data (str, int, float, bool, None, "
            "list, tuple, dict) so the file loads with weights_only=True"
        )


def save_encoder(encoder: Encoder, path: PathLikeStr, *, method: str, metadata: dict | None = None) -> None:
    """Write an encoder file atomically.

    Args:
        encoder: the trained encoder.
        path: destination file; parent folders are created.
        method: name of the method that trained it (e.g. ``"contrique"``, ``"random"``).
        metadata: plain data stored beside the weights (config, history, ...).

    Raises:
        ValueError: ``metadata`` holds something other than plain data.
    """
    metadata = dict(metadata or {})
    _check_plain(metadata, "metadata")
    payload = {
        "format": ENCODER_FORMAT,
        "arch": encoder.arch,
        "feature_dim": encoder.feature_dim,
        "method": str(method),
        "metadata": metadata,
        "state_dict": {key: value.detach().cpu() for key, value in encoder.state_dict().items()},
    }
    atomic_torch_save(payload, path)


def read_payload(path: Path, map_location: Any, *, expected_format: str, keys: tuple[str, ...], kind: str) -> dict:
    """A ``torch.load(weights_only=True)`` payload of ``expected_format`` holding ``keys``; errors name the file and
    call it a perceptflow ``kind`` (``"encoder"``, ``"volume encoder"``)."""
    if not path.is_file():
        raise FileNotFoundError(f"{kind} file not found: {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch.load raises many types on foreign or damaged files
        raise EncoderFileError(f"{path} is not a perceptflow {kind} file (cannot be loaded: {error})") from error
    found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
    if found != expected_format:
        raise EncoderFileError(f"{path} is not a perceptflow {kind}: format is {found!r}, expected {expected_format!r}")
    missing = [key for key in keys if key not in payload]
    if missing:
        raise EncoderFileError(f"{path} is a damaged perceptflow {kind}: keys {missing} are missing")
    return payload


def _read_payload(path: Path, map_location: Any) -> dict:
    keys = ("arch", "feature_dim", "method", "metadata", "state_dict")
    payload = read_payload(path, map_location, expected_format=ENCODER_FORMAT, keys=keys, kind="encoder")
    if payload["arch"] not in ARCHS:
        raise EncoderFileError(f"{path}: unknown arch {payload['arch']!r}; supported: {', '.join(ARCHS)}")
    return payload


def _state_dict_problems(expected: Mapping[str, Tensor], found: Mapping[str, Any]) -> list[str]:
    problems = []
    missing = [key for key in expected if key not in found]
    unexpected = [key for key in found if key not in expected]
    if missing:
        problems.append(f"{len(missing)} missing key(s), e.g. {missing[:3]}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected key(s), e.g. {unexpected[:3]}")
    for key, tensor in expected.items():
        value = found.get(key)
        if isinstance(value, Tensor) and value.shape != tensor.shape:
            problems.append(f"{key}: shape {tuple(value.shape)} in file, {tuple(tensor.shape)} in the model")
        elif key in found and not isinstance(value, Tensor):
            problems.append(f"{key}: a {type(value).__name__}, not a tensor")
    return problems


def load_encoder(path: PathLikeStr, *, map_location: Any = "cpu") -> tuple[Encoder, dict]:
    """Load an encoder file written by `save_encoder`.

    Args:
        path: the encoder file.
        map_location: passed to ``torch.load``; the encoder ends on the weights' device.

    Returns:
        ``(encoder in eval mode, payload without "state_dict")``.

    Raises:
        FileNotFoundError: the file does not exist.
        EncoderFileError: not a perceptflow encoder, or its weights do not match its architecture.
    """
    path = Path(path)
    payload = _read_payload(path, map_location)
    encoder = build_encoder(payload["arch"])
    return load_weights(encoder, payload, path, f"a {payload['arch']} encoder"), _without_weights(payload)


def load_weights(model: M, payload: Mapping[str, Any], path: Path, what: str) -> M:
    """``model`` with the payload's ``state_dict`` loaded, in eval mode on the weights' device.

    Shared by every encoder-file reader (2D and 3D): the weights must match ``model`` key by key and shape by
    shape, and the stored ``feature_dim`` its own.

    Raises:
        EncoderFileError: the weights do not fit; the message names ``path`` and ``what`` the model is.
    """
    state_dict = payload["state_dict"]
    problems = _state_dict_problems(model.state_dict(), state_dict if isinstance(state_dict, Mapping) else {})
    if payload["feature_dim"] != getattr(model, "feature_dim", None):
        problems.append(
            f"feature_dim {payload['feature_dim']} in file, {getattr(model, 'feature_dim', None)} in the model"
        )
    if problems:
        raise EncoderFileError(f"{path}: weights do not match {what}: {'; '.join(problems)}")
    model.load_state_dict(state_dict)
    first = next(iter(state_dict.values()))
    model.to(first.device).eval()
    return model


def _without_weights(payload: Mapping[str, Any]) -> dict:
    return {key: value for key, value in payload.items() if key != "state_dict"}


def encoder_from_weights(path: str | Path, arch: str = "resnet18") -> Encoder:
    """A perceptflow `Encoder` from a local torchvision ResNet state-dict file (``fc.*`` keys are dropped).

    Accepts either torchvision's key layout (``conv1.weight``, ...) or the encoder's own (``trunk.conv1.weight``).

    Raises:
        FileNotFoundError: no such file.
        RuntimeError: the weights do not fit ``arch``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no weights file at {path}")
    state = torch.load(path, map_location="cpu", weights_only=True)
    state = {key: value for key, value in state.items() if not key.startswith("fc.")}
    state = {key if key.startswith("trunk.") else f"trunk.{key}": value for key, value in state.items()}
    encoder = build_encoder(arch)
    encoder.load_state_dict(state, strict=True)
    return encoder
