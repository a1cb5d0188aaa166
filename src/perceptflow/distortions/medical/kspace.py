"""MRI artefacts written by hand: Rician noise, Gibbs ringing, k-space undersampling, anisotropic low resolution.

TorchIO has none of these (its ``RandomNoise`` is Gaussian, its ``RandomAnisotropy`` has no deterministic
form); MONAI has Rician and Gibbs but is not a dependency. Same contract as :mod:`medical_tio`:
``fn(volume, value, rng)`` on a float32 (D, H, W) volume in ~[0, 1], every random choice from ``rng``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import ndimage

Volume3D = npt.NDArray[np.float32]

#: Side of the always-sampled square at the centre of the phase-encoding plane, as a fraction of each side.
CENTRE_FRACTION = 0.16
#: Slice axis of the anisotropic low-resolution artefact (inferior-superior in RAS voxel order).
SLICE_AXIS = 2
#: FWHM to standard deviation of a Gaussian.
FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


def rician_noise(volume: np.ndarray, value: float, rng: np.random.Generator) -> Volume3D:
    """Magnitude of complex Gaussian noise: ``sqrt((I + n1)^2 + n2^2)``, ``n1, n2 ~ N(0, value^2)``.

    ``value`` is sigma on the [0, 1] intensity scale (Gudbjartsson & Patz 1995); the background becomes
    Rayleigh with mean ``value * sqrt(pi / 2)``.
    """
    real = volume + rng.normal(0.0, value, size=volume.shape)
    imaginary = rng.normal(0.0, value, size=volume.shape)
    return np.sqrt(real**2 + imaginary**2).astype(np.float32)


def gibbs_ringing(volume: np.ndarray, value: float, rng: np.random.Generator) -> Volume3D:
    """Truncation artefact: keep the central ``value`` fraction of k-space along each axis, zero the rest.

    The hard (box) cut-off rings at every edge; ``value`` = 1 is the identity. Deterministic.
    """
    del rng
    spectrum = np.fft.fftshift(np.fft.fftn(volume))
    spectrum *= _box_mask(volume.shape, value)
    return np.real(np.fft.ifftn(np.fft.ifftshift(spectrum))).astype(np.float32)


def kspace_undersampling(volume: np.ndarray, value: float, rng: np.random.Generator) -> Volume3D:
    """3D Cartesian undersampling with acceleration ``value`` and zero-filled magnitude reconstruction.

    Readout along axis 0 is fully sampled; in the phase-encoding plane (axes 1, 2) the central
    :data:`CENTRE_FRACTION` square is kept and the other positions are kept at random (``rng``) so that
    ``1 / value`` of the plane is sampled: incoherent aliasing plus blur, as in compressed sensing. A 2D
    mask has thousands of positions, so the error varies little between draws (a 1D line mask on a
    64-line grid varies by up to 30%).
    """
    plane = volume.shape[1:]
    keep = _box_mask(plane, CENTRE_FRACTION)
    wanted = max(int(keep.sum()), round(keep.size / value))
    outer = np.flatnonzero(~keep.ravel())
    chosen = rng.choice(outer, size=min(wanted - int(keep.sum()), outer.size), replace=False)
    keep.ravel()[chosen] = True
    spectrum = np.fft.fftshift(np.fft.fftn(volume)) * keep[None]
    return np.abs(np.fft.ifftn(np.fft.ifftshift(spectrum))).astype(np.float32)


def anisotropic_low_resolution(volume: np.ndarray, value: float, rng: np.random.Generator) -> Volume3D:
    """Thick slices: along :data:`SLICE_AXIS`, slices ``value`` voxels thick sampled every ``value`` voxels
    (rounded to a whole number of slices), then cubic-spline interpolation back to the original grid.
    Deterministic; ``value`` = 1 is the identity.

    The slice profile is Gaussian with FWHM ``value``; the volume's own 1-voxel profile is already there,
    so the added blur has FWHM ``sqrt(value^2 - 1)``.
    """
    del rng
    sigma = np.sqrt(max(value**2 - 1.0, 0.0)) * FWHM_TO_SIGMA
    thick = ndimage.gaussian_filter1d(volume.astype(np.float32), sigma, axis=SLICE_AXIS) if sigma > 0 else volume
    n = volume.shape[SLICE_AXIS]
    down = [1.0, 1.0, 1.0]
    down[SLICE_AXIS] = max(2, round(n / value)) / n
    slices = ndimage.zoom(thick, down, order=3, mode="nearest", grid_mode=True)
    up = [1.0, 1.0, 1.0]
    up[SLICE_AXIS] = n / slices.shape[SLICE_AXIS]
    return ndimage.zoom(slices, up, order=3, mode="nearest", grid_mode=True).astype(np.float32)


def _box_mask(shape: tuple[int, ...], fraction: float) -> np.ndarray:
    """Boolean mask of the central ``fraction`` of a centred (fftshift) spectrum along every axis."""
    mask = np.ones(shape, dtype=bool)
    for axis, n in enumerate(shape):
        keep = max(1, round(fraction * n))
        line = np.zeros(n, dtype=bool)
        start = n // 2 - keep // 2
        line[start : start + keep] = True
        view = [1] * len(shape)
        view[axis] = n
        mask &= line.reshape(view)
    return mask
