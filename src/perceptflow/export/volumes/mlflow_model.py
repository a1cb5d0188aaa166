"""A 3D metric file as an MLflow model: `MetricModel` reading NIfTI paths (``dist``, optional ``ref``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from perceptflow.export.mlflow_model import ARTIFACT, MetricModel


class VolumeMetricModel(MetricModel):
    """Scores NIfTI files listed in a DataFrame (read through the file's NIfTI preprocessing)."""

    def load_context(self, context: Any) -> None:
        """Load the 3D metric file (on the CPU) once."""
        from perceptflow.metric.file import read_metric_file
        from perceptflow.metric.volumes import VolumeMetric

        self.volume_metric = VolumeMetric(read_metric_file(context.artifacts[ARTIFACT]))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """A ``score`` column: FR distances when ``ref`` is given, else NR predictions."""
        from perceptflow.metric.volumes import score_volume_files

        refs = list(model_input["ref"]) if "ref" in model_input.columns else None
        scores = score_volume_files(self.volume_metric, list(model_input["dist"]), refs, progress=False)
        return pd.DataFrame({"score": scores})
