"""Encoders: ResNet trunks, the 3D volume encoder, their files, and frozen two-scale features."""

from perceptflow.models.checkpoint import ENCODER_FORMAT, EncoderFileError, load_encoder, save_encoder
from perceptflow.models.device import pick_device
from perceptflow.models.encoder import ARCHS, Encoder, build_encoder, pooled_features
from perceptflow.models.volume_encoder import (
    VOLUME_ENCODER_FORMAT,
    VolumeEncoder,
    build_volume_encoder,
    load_volume_encoder,
    save_volume_encoder,
)

__all__ = [
    "ARCHS",
    "ENCODER_FORMAT",
    "VOLUME_ENCODER_FORMAT",
    "Encoder",
    "EncoderFileError",
    "VolumeEncoder",
    "build_encoder",
    "build_volume_encoder",
    "load_encoder",
    "load_volume_encoder",
    "pick_device",
    "pooled_features",
    "save_encoder",
    "save_volume_encoder",
]
