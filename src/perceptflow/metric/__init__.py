"""The learned metric as a product: metric files, `LearnedMetric` (scores and loss), LPIPS-style distances, and
the 3D metric (`perceptflow.metric.volumes`).

Names are imported on first use (PEP 562), so `perceptflow.metric.variants` stays torch-free for the workflow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "DEFAULT_FR_LAYERS": "perceptflow.metric.export",
    "LearnedMetric": "perceptflow.metric.learned",
    "METRIC_FORMAT": "perceptflow.metric.file",
    "MetricFileError": "perceptflow.metric.file",
    "load_metric": "perceptflow.metric.api",
    "score_paths": "perceptflow.metric.api",
    "VolumeMetric": "perceptflow.metric.volumes",
    "volume_metric_payload": "perceptflow.metric.volumes",
    "metric_payload": "perceptflow.metric.export",
    "save_metric_file": "perceptflow.metric.file",
    "score_files": "perceptflow.metric.scoring",
    "DEFAULT_LAYERS": "perceptflow.metric.distance",
    "PerceptualDistance": "perceptflow.metric.distance",
    "VARIANTS": "perceptflow.metric.variants",
    "check_variant": "perceptflow.metric.variants",
}

__all__ = [
    "DEFAULT_FR_LAYERS",
    "DEFAULT_LAYERS",
    "METRIC_FORMAT",
    "VARIANTS",
    "LearnedMetric",
    "MetricFileError",
    "PerceptualDistance",
    "VolumeMetric",
    "check_variant",
    "load_metric",
    "metric_payload",
    "save_metric_file",
    "score_files",
    "score_paths",
    "volume_metric_payload",
]

if TYPE_CHECKING:  # pragma: no cover
    from perceptflow.metric.api import load_metric, score_paths
    from perceptflow.metric.distance import DEFAULT_LAYERS, PerceptualDistance
    from perceptflow.metric.export import DEFAULT_FR_LAYERS, metric_payload
    from perceptflow.metric.file import METRIC_FORMAT, MetricFileError, save_metric_file
    from perceptflow.metric.learned import LearnedMetric
    from perceptflow.metric.scoring import score_files
    from perceptflow.metric.variants import VARIANTS, check_variant
    from perceptflow.metric.volumes import VolumeMetric, volume_metric_payload


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'perceptflow.metric' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
