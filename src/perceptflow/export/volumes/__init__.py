"""Export of 3D metric files (rule ``export_volume_metric``) and their MLflow model."""
