"""The weightings of an LPIPS-style distance and what trains in each (torch-free: the workflow reads it while
parsing)."""

from __future__ import annotations

#: The metric variants (DPS adaptation's `adapt_dps.variants`): what trains in each.
VARIANTS: dict[str, str] = {
    "baseline": "given encoder, frozen; channel sum, nothing trains",
    "lin": "given encoder, frozen; non-negative 1x1 layer weights train",
    "tune": "given encoder and 1x1 layer weights both train",
    "scratch": "randomly initialised encoder and 1x1 layer weights both train",
}


def check_variant(variant: str) -> None:
    """Raise ValueError naming the valid variants when ``variant`` is not one of them."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown DPS variant {variant!r}; choose one of: {', '.join(VARIANTS)}")
