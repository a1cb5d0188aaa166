"""The 3D metric: metric files of modality ``3d`` over a volume encoder, `VolumeMetric` and NIfTI scoring."""

from perceptflow.metric.volumes.learned import VolumeMetric, volume_metric_payload
from perceptflow.metric.volumes.scoring import score_volume_files

__all__ = ["VolumeMetric", "score_volume_files", "volume_metric_payload"]
