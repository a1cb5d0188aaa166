"""perceptflow: learn a perceptual quality metric without human labels.

``perceptflow.load_metric(path, device=...)`` loads a metric file (docs/metric.md). Names are imported on first use
(PEP 562): ``import perceptflow`` stays torch-free, as Snakemake imports it while parsing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_metric": "perceptflow.metric.api",
    "LearnedMetric": "perceptflow.metric.learned",
    "VolumeMetric": "perceptflow.metric.volumes",
}

__all__ = ["LearnedMetric", "VolumeMetric", "__version__", "load_metric"]

if TYPE_CHECKING:  # pragma: no cover
    from perceptflow.metric.api import load_metric
    from perceptflow.metric.learned import LearnedMetric
    from perceptflow.metric.volumes import VolumeMetric


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'perceptflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
