"""MRI artefacts built on TorchIO's deterministic transforms: motion, ghosting, spike, bias field, blur, gamma.

Each function is ``fn(volume, value, rng)``: a float32 (D, H, W) volume in ~[0, 1], the level's parameter
value and a numpy Generator that draws every random choice (TorchIO's ``Random*`` classes would draw from
torch's global RNG; their deterministic counterparts take explicit parameters and draw nothing). Voxels
are treated as 1 mm isotropic, so millimetre parameters are voxels of the calibration grid. TorchIO is
imported on first use only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

Volume3D = npt.NDArray[np.float32]

#: Phase-encoding axis of ghosting (anterior-posterior in RAS voxel order).
GHOST_AXIS = 1
#: Number of ghost copies.
N_GHOSTS = 4
#: Fraction of k-space, centred, that ghosting leaves untouched (TorchIO's ``restore``; keeps the contrast).
GHOST_RESTORE = 0.02
#: Rotation (degrees) about, and shift (voxels) along, each axis of a motion event.
MOTION_DEGREES = 3.0
MOTION_SHIFT = 3.0
#: Polynomial order of the bias field.
BIAS_ORDER = 3


def _transform(volume: np.ndarray, transform: Any) -> Volume3D:
    """Run a TorchIO transform on a (D, H, W) array as a one-channel image with an identity affine."""
    import torch
    import torchio as tio

    image = tio.ScalarImage(tensor=torch.from_numpy(np.ascontiguousarray(volume, dtype=np.float32))[None])
    return transform(image).data[0].numpy().astype(np.float32)


def _signs(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.choice(np.array([-1.0, 1.0]), size=n)


def motion(volume: np.ndarray, value: float, rng: np.random.Generator) -> Volume3D:
    """Rigid head motion during acquisition (TorchIO ``Motion``: k-space segments from moved copies).

    ``value`` is the fraction of k-space (along the last axis) acquired while displaced: the head is at
    rest for the central ``1 - value``, and moved before and after it by :data:`MOTION_DEGREES` degrees
    and :data:`MOTION_SHIFT` voxels about/along each axis, signs drawn from ``rng``. Past a voxel or so the
    damage depends on how much k-space is affected, not on the amplitude (TorchIO issue 765), so the
    fraction is the calibrated parameter. TorchIO cuts k-space at whole lines (``int(n * time)``), so the
    error moves in steps of 2/n; the registered levels are multiples of 1/32 (whole lines at n = 64).
    """
    import torchio as tio

    degrees = MOTION_DEGREES * _signs(rng, 6).reshape(2, 3)
    shift = MOTION_SHIFT * _signs(rng, 6).reshape(2, 3)
    times = np.array([value / 2.0, 1.0 - value / 2.0])
    return _transform(volume, tio.Motion(degrees=degrees, translation=shift, times=times, image_interpolation="linear"))


def ghosting(volume: np.ndarray, value: float, rng: np.random.Generator) -> Volume3D:
    """Periodic-motion ghosts along the phase-encoding axis (TorchIO ``Ghosting``); ``value`` is the intensity."""
    import torchio as tio

    del rng  # fully determined by the level: axis, count and restored centre are fixed
    return _transform(volume, tio.Ghosting(N_GHOSTS, GHOST_AXIS, float(value), GHOST_RESTORE))


def spike(volume: np.ndarray, value: float, rng: np.random.Generator) -> Volume3D:
    """Herringbone stripes from one k-space spike (TorchIO ``Spike``) of ``value`` x the spectrum's peak.

    The spike position is drawn from ``rng`` at 10-35% of k-space from the centre along each axis.
    """
    import torchio as tio

    position = 0.5 + _signs(rng, 3) * rng.uniform(0.10, 0.35, size=3)
    return _transform(volume, tio.Spike(position[None], float(value)))


def bias_field(volume: np.ndarray, value: float, rng: np.random.Generator) -> Volume3D:
    """Smooth multiplicative B1 inhomogeneity: TorchIO's ``BiasField`` polynomial (order 3), exponentiated.

    Coefficients are drawn from ``rng`` (U(-1, 1), constant term 0), then the log field is centred and
    scaled so that its RMS weighted by intensity squared is ``value``; NRMSE ~ ``value`` whatever the draw.
    """
    import torch
    import torchio as tio

    n_coefficients = (BIAS_ORDER + 1) * (BIAS_ORDER + 2) * (BIAS_ORDER + 3) // 6
    coefficients = rng.uniform(-1.0, 1.0, size=n_coefficients)
    coefficients[0] = 0.0
    shape = torch.zeros((1, *volume.shape))
    log_field = np.log(tio.BiasField.generate_bias_field(shape, BIAS_ORDER, coefficients.tolist()))
    weight = volume.astype(np.float64) ** 2 / max(float(np.sum(volume.astype(np.float64) ** 2)), 1e-12)
    log_field -= np.sum(weight * log_field)
    rms = np.sqrt(np.sum(weight * log_field**2))
    return (volume * np.exp(log_field * (value / max(float(rms), 1e-12)))).astype(np.float32)


def blur(volume: np.ndarray, value: float, rng: np.random.Generator) -> Volume3D:
    """Isotropic Gaussian blur (TorchIO ``Blur``), standard deviation ``value`` voxels."""
    import torchio as tio

    del rng  # deterministic
    return _transform(volume, tio.Blur((float(value),) * 3))


def gamma(volume: np.ndarray, value: float, rng: np.random.Generator) -> Volume3D:
    """Contrast change ``I ** value`` (TorchIO ``Gamma``, sign-preserving); ``value`` > 1 darkens mid-tones."""
    import torchio as tio

    del rng  # deterministic
    return _transform(volume, tio.Gamma(float(value)))
