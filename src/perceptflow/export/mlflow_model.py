"""A metric file as an MLflow model: a pyfunc whose artifact is the file, so it shows in the MLflow UI, loads back
with ``mlflow.pyfunc.load_model`` and can be registered (``mlflow.register_model``).

Input: a DataFrame with a ``dist`` column of image paths and, for the full-reference score, a ``ref`` column;
output: a ``score`` column (`perceptflow.metric.score_files`).
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.pyfunc import PythonModel
from mlflow.types import ColSpec, Schema, TensorSpec

from perceptflow import __version__
from perceptflow.types import PathLikeStr

#: Artifact key of the metric file inside the MLflow model.
ARTIFACT = "metric_file"


class MetricModel(PythonModel):
    """Scores image files listed in a DataFrame with the metric file logged beside it."""

    def load_context(self, context: Any) -> None:
        """Load the metric file (on the CPU) once."""
        from perceptflow.metric.learned import load_metric

        self.metric = load_metric(context.artifacts[ARTIFACT])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """A ``score`` column: FR distances when ``ref`` is given, else NR predictions."""
        from perceptflow.metric.scoring import score_files

        refs = list(model_input["ref"]) if "ref" in model_input.columns else None
        scores = score_files(self.metric, list(model_input["dist"]), refs, progress=False)
        return pd.DataFrame({"score": scores})


def signature(full_reference: bool) -> ModelSignature:
    """Input ``dist`` and ``ref`` image paths (``ref`` optional for a file with an NR head), output ``score``."""
    columns: list[ColSpec | TensorSpec] = [ColSpec("string", "dist"), ColSpec("string", "ref", required=full_reference)]
    return ModelSignature(inputs=Schema(columns), outputs=Schema([ColSpec("double", "score")]))


def pip_requirements() -> list[str]:
    """What the model needs to load: perceptflow at this version (it brings torch and its readers) and mlflow."""
    return [f"perceptflow=={__version__}", f"mlflow=={mlflow.__version__}"]


def log_metric_model(
    path: PathLikeStr,
    *,
    name: str,
    full_reference: bool,
    register_as: str | None = None,
    python_model: PythonModel | None = None,
) -> str:
    """Log ``path`` as a pyfunc model named ``name`` in the active run; returns its model URI.

    With ``register_as``, the model is also registered under that name (config ``metric.register_model``).
    ``python_model`` defaults to `MetricModel` (images); 3D files use
    `perceptflow.export.volumes.mlflow_model.VolumeMetricModel`.
    """
    info = mlflow.pyfunc.log_model(
        name=name,
        python_model=python_model or MetricModel(),
        artifacts={ARTIFACT: str(path)},
        signature=signature(full_reference),
        pip_requirements=pip_requirements(),
    )
    if register_as:
        mlflow.register_model(info.model_uri, register_as)
    return str(info.model_uri)
