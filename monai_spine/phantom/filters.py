"""Image filters shared by the phantom's renderers."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from scipy.special import ive

__all__ = ["gaussian_blur", "gaussian_kernel"]


def gaussian_kernel(sigma: float) -> np.ndarray:
    """The discrete Gaussian kernel ``e^{-σ²} I_n(σ²)`` (Lindeberg), whose variance is exactly ``σ²`` (voxels).

    Unlike a sampled Gaussian it stays exact for the sub-voxel widths of a scanner's PSF. Truncated at
    ``3σ + 1`` taps each side and normalised to sum 1.
    """
    radius = int(math.ceil(3.0 * sigma)) + 1
    kernel = ive(np.arange(-radius, radius + 1), sigma * sigma)
    return kernel / kernel.sum()


def gaussian_blur(image: torch.Tensor, sigma: Sequence[float]) -> torch.Tensor:
    """Separable Gaussian blur of the last ``len(sigma)`` axes of ``image``, which continues as its edge values.

    Edge (replicate) padding suits images that are cut by their border: a trunk cut at the grid's top and bottom,
    air around a body.

    Args:
        image: ``(..., *spatial)`` float tensor, any device.
        sigma: standard deviation along each of the last axes, voxels; axes with ``σ < 0.05`` are left alone.

    Returns:
        a new tensor of ``image``'s shape, dtype and device.
    """
    out = image
    for axis, s in enumerate(sigma, start=image.ndim - len(sigma)):
        if s < 0.05:
            continue
        kernel = gaussian_kernel(float(s))
        radius, n = len(kernel) // 2, out.shape[axis]
        blurred = out * float(kernel[radius])
        for shift in range(1, radius + 1):
            weight, edge = float(kernel[radius + shift]), min(shift, n)  # ``edge`` outputs reach past each end
            if shift < n:
                blurred.narrow(axis, shift, n - shift).add_(out.narrow(axis, 0, n - shift), alpha=weight)
                blurred.narrow(axis, 0, n - shift).add_(out.narrow(axis, shift, n - shift), alpha=weight)
            blurred.narrow(axis, 0, edge).add_(out.narrow(axis, 0, 1), alpha=weight)
            blurred.narrow(axis, n - edge, edge).add_(out.narrow(axis, n - 1, 1), alpha=weight)
        out = blurred
    return out if out is not image else image.clone()
