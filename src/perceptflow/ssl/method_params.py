"""One method's training settings from the config's ``train`` section: shared keys plus ``train.overrides.<method>``.

Methods trained side by side share the ``train`` section, but they do not share a best learning rate (Mix-up SSL
trains best at 10x CONTRIQUE's on the demo). ``train.overrides`` gives a method its own values::

    train:
      methods: [contrique, simclr, mixup]
      lr: 0.01
      overrides:
        mixup: {lr: 0.1, mixup: {transparency_weight: 5.0}}

The resolved mapping is the train rule's ``params`` (and, through `TrainConfig`, the checkpoint key), so an override
reruns only its own method, and a method's own section (``mixup``) reaches only that method.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields
from typing import Any

from perceptflow.ssl.config import TrainConfig

#: The 2D method names (the keys of `perceptflow.ssl.METHODS`, kept here so parsing a config needs no torch).
METHOD_NAMES = ("contrique", "simclr", "mixup")
#: Keys of the ``train`` section that select methods or feed other rules, never a method's own settings.
SELECTION_KEYS = frozenset({"method", "methods", "random_init_seed", "overrides"})
#: Settings that belong to one method; other methods never see them (so editing them never reruns those).
METHOD_SECTIONS = {"mixup": "mixup"}
#: Settings a method may not override: every method and the random-init baseline share the architecture, or the
#: comparison against random init would compare different networks.
SHARED_ONLY = frozenset({"arch"})


def _other_methods_section(key: str, method: str) -> bool:
    """Whether ``key`` is a method's own section (`METHOD_SECTIONS`) that is not ``method``'s."""
    return key in METHOD_SECTIONS.values() and METHOD_SECTIONS.get(method) != key


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``override``; nested mappings are merged key by key, not replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def check_overrides(train: Mapping[str, Any], methods: Iterable[str] = METHOD_NAMES) -> None:
    """Refuse a ``train.overrides`` entry that names an unknown method, an unknown or shared-only key, or another
    method's section; each message names the config key.

    Args:
        train: the config's ``train`` section.
        methods: every method name that could be trained.
    """
    overrides = train.get("overrides") or {}
    if not isinstance(overrides, Mapping):
        raise ValueError(f"train.overrides must be a mapping of method -> settings, got {overrides!r}")
    known_methods = set(methods)
    known_keys = {field.name for field in fields(TrainConfig)}
    for method, values in overrides.items():
        where = f"train.overrides.{method}"
        if method not in known_methods:
            raise ValueError(f"{where}: unknown method {method!r}; methods: {sorted(known_methods)}")
        if not isinstance(values, Mapping):
            raise ValueError(f"{where} must be a mapping of train settings, got {values!r}")
        for key in values:
            if key in SHARED_ONLY:
                raise ValueError(f"{where}.{key}: `{key}` is shared by every method and the random-init baseline")
            if key not in known_keys:
                raise ValueError(f"{where}.{key}: unknown train setting; known: {sorted(known_keys - SHARED_ONLY)}")
            if _other_methods_section(key, method):
                raise ValueError(f"{where}.{key}: the `{key}` section belongs to method {key!r}, not {method!r}")


def resolve_method_params(train: Mapping[str, Any], method: str, *, validate: bool = True) -> dict[str, Any]:
    """The settings ``method`` trains with: the shared keys of ``train``, the method's own section, then
    ``train.overrides.<method>`` on top (nested sections merged key by key).

    ``validate=False`` skips building a `TrainConfig` (which imports torch to check ``arch``): the workflow's
    schema has checked the values, and the train rule validates them again.

    Raises:
        ValueError: a bad ``train.overrides`` entry (`check_overrides`), or resolved settings that are invalid
            (`TrainConfig`; the message says which override they came from).
    """
    check_overrides(train)
    shared = {
        key: value
        for key, value in train.items()
        if key not in SELECTION_KEYS and not _other_methods_section(key, method)
    }
    override = (train.get("overrides") or {}).get(method) or {}
    resolved = _merge(shared, override)
    if not validate:
        return resolved
    try:
        TrainConfig.from_dict(resolved)
    except ValueError as error:
        if not override:
            raise
        raise ValueError(f"{error} (method {method!r} with train.overrides.{method} = {dict(override)!r})") from error
    return resolved
