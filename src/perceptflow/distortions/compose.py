"""Composite distortions (optional): a chain of up to N types from different groups, as ARNIQA composes them.

A chain is a tuple of (type, level) pairs applied in order; each step gets its own generator, derived from
(seed, reference id and step index, type, level), so a recorded chain replays byte for byte.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from perceptflow.distortions.api import apply_distortion, distortion_rng
from perceptflow.distortions.registry import distortions_in
from perceptflow.distortions.spec import N_LEVELS
from perceptflow.types import ImageArray

Chain = tuple[tuple[str, int], ...]


def sample_chain(rng: np.random.Generator, max_length: int, *, domain: str = "natural") -> Chain:
    """Draw 1..``max_length`` types from distinct groups of ``domain`` (random order), each at a random level.

    Raises:
        ValueError: ``max_length`` < 1 or more than the domain has groups.
    """
    by_group: dict[str, list[str]] = {}
    for name, spec in distortions_in(domain).items():
        by_group.setdefault(spec.group, []).append(name)
    if not 1 <= max_length <= len(by_group):
        raise ValueError(f"max_length must be within 1..{len(by_group)} (groups in {domain!r}), got {max_length}")
    length = int(rng.integers(1, max_length + 1))
    groups = [list(by_group)[i] for i in rng.permutation(len(by_group))[:length]]
    return tuple((str(rng.choice(by_group[g])), int(rng.integers(1, N_LEVELS + 1))) for g in groups)


def apply_chain(
    image: ImageArray, chain: Sequence[tuple[str, int]], *, seed: int, ref_id: str, scheme: str = "severity"
) -> ImageArray:
    """Apply ``chain`` in order to a uint8 RGB image; deterministic in (image, chain, seed, ref_id, scheme)."""
    for step, (name, level) in enumerate(chain):
        rng = distortion_rng(seed, f"{ref_id}#{step}", name, level)
        image = apply_distortion(image, name, level, rng, scheme)
    return image


def chain_label(chain: Sequence[tuple[str, int]]) -> str:
    """A readable record of a chain for manifests, e.g. ``"jpeg:3+white_noise:1"``."""
    return "+".join(f"{name}:{level}" for name, level in chain)
