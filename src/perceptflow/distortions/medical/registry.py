"""The 3D MRI artefacts (domain ``medical``, ids >= 201, float volume in and out), calibrated levels.

`perceptflow.distortions.registry.get_distortion` finds them by name; see docs/medical.md for the calibration.
"""

from __future__ import annotations

from perceptflow.distortions.medical import kspace as mk
from perceptflow.distortions.medical import tio as mt
from perceptflow.distortions.spec import DistortionSpec

# Levels calibrated on the MNI152 T1 at 3 mm, 64^3, so that NRMSE steps are even (docs/medical.md,
# benchmarks/calibrate_medical.py); not part of the KADID class labels (see medical_class_label).
# fmt: off
DISTORTIONS: dict[str, DistortionSpec] = {
    "mri_motion": DistortionSpec(
        201, "mri_motion", "spatial", "medical", (0.25, 0.5, 0.625, 0.6875, 0.75), (),
        "fraction of k-space acquired while moved (3 deg, 3 vox)", mt.motion,
        "rigid head motion, k-space segments (TorchIO Motion)"),
    "mri_ghosting": DistortionSpec(
        202, "mri_ghosting", "spatial", "medical", (0.0491, 0.0982, 0.147, 0.196, 0.246), (),
        "ghost intensity (4 ghosts, A-P axis)", mt.ghosting, "phase-encode ghosts (TorchIO Ghosting)"),
    "mri_spike": DistortionSpec(
        203, "mri_spike", "noise", "medical", (0.119, 0.237, 0.356, 0.475, 0.594), (),
        "spike amplitude (x k-space peak)", mt.spike, "herringbone stripes from a k-space spike (TorchIO Spike)"),
    "mri_bias_field": DistortionSpec(
        204, "mri_bias_field", "brightness", "medical", (0.0395, 0.0807, 0.117, 0.16, 0.204), (),
        "intensity-weighted RMS of the log field", mt.bias_field, "B1 inhomogeneity (TorchIO BiasField)"),
    "mri_blur": DistortionSpec(
        205, "mri_blur", "blur", "medical", (0.431, 0.534, 0.676, 0.876, 1.13), (),
        "Gaussian std (voxels)", mt.blur, "isotropic 3D Gaussian blur (TorchIO Blur)"),
    "mri_rician_noise": DistortionSpec(
        206, "mri_rician_noise", "noise", "medical", (0.01, 0.02, 0.03, 0.04, 0.05), (),
        "sigma (intensity, [0, 1] scale)", mk.rician_noise, "Rician (magnitude) noise"),
    "mri_gibbs_ringing": DistortionSpec(
        207, "mri_gibbs_ringing", "blur", "medical", (0.883, 0.664, 0.523, 0.414, 0.336), (),
        "k-space fraction kept per axis (1 = identity)", mk.gibbs_ringing, "truncation ringing"),
    "mri_undersampling": DistortionSpec(
        208, "mri_undersampling", "compression", "medical", (1.03, 1.13, 1.29, 1.65, 2.29), (),
        "acceleration (phase-encode plane sampled 1/R)", mk.kspace_undersampling,
        "random Cartesian undersampling, zero-filled"),
    "mri_anisotropic": DistortionSpec(
        209, "mri_anisotropic", "blur", "medical", (1.27, 1.75, 2.42, 3.28, 4.41), (),
        "slice thickness and spacing (voxels, S-I axis)", mk.anisotropic_low_resolution,
        "thick slices interpolated back"),
    "mri_gamma": DistortionSpec(
        210, "mri_gamma", "sharpness_contrast", "medical", (1.1, 1.2, 1.32, 1.44, 1.57), (),
        "gamma exponent (1 = identity)", mt.gamma, "contrast change I^gamma (TorchIO Gamma)"),
}
# fmt: on

#: The same table under the name the 3D code uses.
MEDICAL_DISTORTIONS = DISTORTIONS
