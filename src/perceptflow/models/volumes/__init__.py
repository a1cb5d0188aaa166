"""3D encoders: the GVSL-style 3D U-Net and the volume encoder exported from it, with their files."""

from perceptflow.models.volumes.encoder import (
    VOLUME_ENCODER_FORMAT,
    VolumeEncoder,
    build_volume_encoder,
    load_volume_encoder,
    save_volume_encoder,
)

__all__ = [
    "VOLUME_ENCODER_FORMAT",
    "VolumeEncoder",
    "build_volume_encoder",
    "load_volume_encoder",
    "save_volume_encoder",
]
