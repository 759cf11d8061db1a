"""AP and lateral radiographs of a phantom: an EOS-like slot-scan geometry around its grid, a DRR and detector noise."""

from __future__ import annotations

import numpy as np
import torch

from monai_spine.geometry.grid import Grid
from monai_spine.projection import AEC_QUANTA_PER_MM2, SlotScanProjection, aec_photons, radiograph, render_drr

__all__ = ["BLUR_MM", "slot_scan", "render_radiograph"]

BLUR_MM = 0.6
"""Standard deviation of the detector's Gaussian blur, mm."""

def slot_scan(
    view: str,
    grid: Grid,
    pixel_mm: float,
    source_to_detector_mm: float,
    source_to_isocentre_mm: float,
    isocentre,
) -> SlotScanProjection:
    """An EOS-like ``view`` (``"ap"`` or ``"lateral"``) whose detector of ``pixel_mm`` pixels covers the grid's
    magnified extent; distances in mm, ``isocentre`` ``(3,)`` phantom-frame mm."""
    lateral_axis = 0 if view == "ap" else 1
    extent = grid.shape[lateral_axis] * grid.spacing[lateral_axis]
    magnification = source_to_detector_mm / (source_to_isocentre_mm - 0.5 * extent)
    width = int(np.ceil(extent * magnification / pixel_mm))
    height = int(np.ceil(grid.shape[2] * grid.spacing[2] / pixel_mm))
    return SlotScanProjection(
        view=view,
        pixel_mm=(pixel_mm, pixel_mm),
        shape=(width, height),
        source_to_detector_mm=source_to_detector_mm,
        source_to_isocentre_mm=source_to_isocentre_mm,
        isocentre=tuple(isocentre),
    )

def render_radiograph(mu: torch.Tensor, grid: Grid, geometry: SlotScanProjection, column: torch.Tensor,
                      generator: torch.Generator) -> torch.Tensor:
    """A radiograph ``(W, H)`` of the attenuation volume ``mu`` (``(X, Y, Z)`` 1/mm on ``grid``) through ``geometry``.

    Exposed under automatic exposure control on ``column`` (bool ``(W, H)``, the spine's pixels): the quanta behind
    it are drawn uniformly in [0.6, 1.6) × :data:`~monai_spine.projection.AEC_QUANTA_PER_MM2`; quantum noise and
    :data:`BLUR_MM` of blur.
    """
    line_integral = render_drr(mu, grid, geometry)
    exposure = 0.6 + float(torch.rand(1, generator=generator, device=generator.device, dtype=torch.float64))
    photons = aec_photons(line_integral, column, geometry.pixel_mm, AEC_QUANTA_PER_MM2 * exposure)
    return radiograph(line_integral, geometry.pixel_mm, photons=photons, blur_mm=BLUR_MM, generator=generator)
