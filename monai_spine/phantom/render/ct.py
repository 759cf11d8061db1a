"""CT volumes of a phantom: CT numbers mixed by volume fraction, the scanner's PSF and noise."""

from __future__ import annotations

import numpy as np
import torch

from monai_spine.geometry.grid import Grid

from ..filters import gaussian_blur
from ..materials import COMPONENTS, MATERIALS, SPREAD_DRAWS, Tissue, check_fractions, component_values, mix

__all__ = ["HU_RANGE", "render_ct", "sample_hu", "skip_ct_draws"]

HU_RANGE = (-1024.0, 3071.0)
"""The range of a 12-bit CT image (stored value 0–4095 with rescale intercept −1024)."""


def sample_hu(generator: torch.Generator, tissue: Tissue) -> np.ndarray:
    """One person's CT numbers of every material, ``(len(MATERIALS),)`` HU.

    Each component's CT number is drawn around its typical value (``Component.hu ± hu_sd``, normal: tissue density
    varies between people; the organs share lean tissue's draw, ``Component.spread_with``); cancellous bone mixes
    them by ``tissue`` (BV/TV and marrow fat).
    """
    drawn = torch.randn(len(SPREAD_DRAWS), generator=generator, device=generator.device, dtype=torch.float64)
    draws = dict(zip(SPREAD_DRAWS, drawn.cpu().numpy()))
    spread = np.array([draws[c.spread_with or name] for name, c in COMPONENTS.items()])
    return tissue.composition() @ (component_values("hu") + component_values("hu_sd") * spread)


def render_ct(
    fractions: torch.Tensor,
    grid: Grid,
    generator: torch.Generator,
    noise_hu: float = 10.0,
    blur_mm: float = 0.5,
    tissue: Tissue | None = None,
    hu=None,
) -> torch.Tensor:
    """A CT volume (HU) of the phantom on its grid.

    CT numbers mix linearly by volume (HU is linear in μ), so partial-volume voxels are exact. The scanner's PSF
    is a Gaussian of ``blur_mm``; the noise is white Gaussian of ``noise_hu``.

    Args:
        fractions: ``(len(MATERIALS), X, Y, Z)`` volume fractions on ``grid`` (CPU or CUDA).
        grid: the phantom's grid (for the voxel size).
        generator: the source of every random draw (tissue and CT numbers when not given, noise).
        noise_hu: standard deviation of the image noise, HU (≥ 0).
        blur_mm: standard deviation of the Gaussian PSF, mm (≥ 0; 0.5 mm ≈ 1.2 mm FWHM, a standard body kernel).
        tissue: the person's cancellous bone composition; drawn with ``Tissue.sample(generator)`` when omitted.
        hu: the person's CT number of each material, ``(len(MATERIALS),)`` HU; ``sample_hu(generator, tissue)``
            when omitted (``material_values("hu", tissue)`` gives the typical values).

    Returns:
        ``(X, Y, Z)`` float32 HU clipped to ``HU_RANGE``, on ``fractions``' device.
    """
    check_fractions(fractions, grid.shape)
    if not noise_hu >= 0.0:
        raise ValueError(f"noise_hu must be >= 0 HU, got {noise_hu}.")
    if not blur_mm >= 0.0:
        raise ValueError(f"blur_mm must be >= 0 mm, got {blur_mm}.")
    if hu is None:
        hu = sample_hu(generator, tissue or Tissue.sample(generator))
    elif np.shape(hu) != (len(MATERIALS),):
        raise ValueError(f"hu must hold one CT number per material {MATERIALS}, got shape {np.shape(hu)}.")
    ct = gaussian_blur(mix(fractions.float(), np.asarray(hu, dtype=np.float64)), [blur_mm / s for s in grid.spacing])
    if noise_hu > 0.0:
        noise = torch.randn(ct.shape, generator=generator, device=generator.device, dtype=torch.float32)
        ct += noise_hu * noise.to(ct.device)
    return ct.clamp_(*HU_RANGE)


def skip_ct_draws(generator: torch.Generator, grid: Grid) -> None:
    """Advance ``generator`` past the draws of ``render_ct(fractions, grid, generator, tissue=tissue)`` (default
    noise, CT numbers drawn) without rendering, so that what a study renders next is unchanged."""
    torch.randn(len(SPREAD_DRAWS), generator=generator, device=generator.device, dtype=torch.float64)
    torch.randn(grid.shape, generator=generator, device=generator.device, dtype=torch.float32)
