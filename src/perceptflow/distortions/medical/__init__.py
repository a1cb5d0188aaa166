"""Ten 3D MRI artefacts at five calibrated levels (domain ``medical``), the volume bank and its gallery.

Example::

    rng = distortion_rng(0, "mni152_t1", "mri_motion", 3)
    distorted = apply_volume_distortion(volume, "mri_motion", 3, rng)  # float (D, H, W) in and out
"""

from perceptflow.distortions.medical.api import apply_volume_distortion, medical_class_label
from perceptflow.distortions.medical.registry import MEDICAL_DISTORTIONS

__all__ = ["MEDICAL_DISTORTIONS", "apply_volume_distortion", "medical_class_label"]
