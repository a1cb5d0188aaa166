"""2D encoders: ResNet trunks, their files and frozen two-scale features.

3D encoders live in `perceptflow.models.volumes`.
"""

from perceptflow.models.device import pick_device
from perceptflow.models.encoder import ARCHS, Encoder, build_encoder, pooled_features
from perceptflow.models.encoder_file import ENCODER_FORMAT, EncoderFileError, load_encoder, save_encoder

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
