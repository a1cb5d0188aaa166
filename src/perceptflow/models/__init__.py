"""Encoders: ResNet trunks, their files, and frozen two-scale features."""

from perceptflow.models.checkpoint import ENCODER_FORMAT, EncoderFileError, load_encoder, save_encoder
from perceptflow.models.device import pick_device
from perceptflow.models.encoder import ARCHS, Encoder, build_encoder, pooled_features

__all__ = [
    "ARCHS",
    "ENCODER_FORMAT",
    "Encoder",
    "EncoderFileError",
    "build_encoder",
    "load_encoder",
    "pick_device",
    "pooled_features",
    "save_encoder",
]
