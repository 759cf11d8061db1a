"""Whole-body DXA of a phantom: dual-energy parallel projection, photon noise and the R-value decomposition.

The scanner is modelled as a parallel projection along y (the narrow-angle fan of a Lunar iDXA rastered head to
feet is close to one). At each of the two effective energies the attenuation ``A_E = Σ_y μ_E dy`` becomes a
transmitted fraction ``exp(−A_E)``; the detector blurs it and integrates it over each pixel, counts photons
(Poisson, per-study exposure) and takes ``−log`` again. The standard R-value decomposition then splits the two
attenuation images into bone and soft-tissue areal densities (``docs/phantom_imaging.md``).

The **DXA image frame** is the coronal image frame of ``docs/frames.md``: pixel ``(column, row)`` lies at
``(column × pixel_mm[0], row × pixel_mm[1])`` mm, and at phantom-frame ``(x, z) = origin_mm + that``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .filters import gaussian_blur
from .grid import Grid
from .materials import MATERIALS, Tissue, check_fractions, linear_attenuation, mass_attenuation

__all__ = [
    "DEFAULT_PIXEL_MM",
    "PHOTONS_PER_MM2_RANGE",
    "PIXEL_MM_RANGE",
    "DxaImage",
    "dxa_geometry",
    "project_mask_parallel",
    "render_dxa",
]

DEFAULT_PIXEL_MM = 1.0
"""Default pixel size (mm): whole-body DXA scanners sample at ~0.3–1.2 mm; 1 mm keeps a trunk image ~400 × 700."""

PIXEL_MM_RANGE = (0.5, 2.5)
"""Allowed pixel sizes, mm."""

PHOTONS_PER_MM2_RANGE = (1.0e4, 1.0e5)
"""Per-study exposure (unattenuated photons per mm² at each energy), drawn log-uniformly: a 3–6 µGy whole-body scan
at ~40 keV is ~2 × 10⁴ photons/mm² per µGy of air kerma."""

_R_SMOOTH_MM = (25.0, 5.0)
"""Standard deviations (x, z; mm) of the neighbourhood the soft-tissue R-value is measured in: wide along the
scan line (from either side it reaches the middle of a lumbar vertebra), narrow across lines (tissue changes with
height)."""

_R_MIN_WEIGHT = 0.01
"""Smallest Gaussian weight of soft-tissue pixels for a local R-value."""

_BONE_FREE_PATH_MM = 0.05
"""A pixel whose blurred bone path (cortical + cancellous) is below this is soft tissue only."""

_BODY_ATTENUATION = 0.2
"""A pixel with a high-energy attenuation above this (~1 cm of tissue) is inside the body."""


@dataclass(frozen=True)
class DxaImage:
    """A rendered DXA study.

    Args:
        bone: ``(W, H)`` float32 bone areal density, g/cm² of ICRU-44 cortical bone (what DXA spine images show).
        soft: ``(W, H)`` float32 soft-tissue areal density, g/cm² of lean (muscle-equivalent) tissue.
        pixel_mm: pixel size (column, row), mm.
        origin_mm: phantom-frame position ``(x, z)`` of the centre of pixel ``(0, 0)``, mm.
        photons_per_mm2: the study's exposure (unattenuated photons per mm² at each energy).
    """

    bone: torch.Tensor
    soft: torch.Tensor
    pixel_mm: tuple[float, float]
    origin_mm: tuple[float, float]
    photons_per_mm2: float

    @property
    def shape(self) -> tuple[int, int]:
        """``(W, H)``: columns (along x), rows (along z)."""
        return tuple(self.bone.shape)

    def to_image_mm(self, points_xz) -> np.ndarray:
        """Phantom-frame ``(..., 2)`` ``(x, z)`` mm → DXA image-frame mm (``column × pixel_mm[0]``, ...)."""
        return np.asarray(points_xz, dtype=np.float64) - self.origin_mm

    def to_pixel(self, points_xz) -> np.ndarray:
        """Phantom-frame ``(..., 2)`` ``(x, z)`` mm → continuous ``(column, row)`` pixel indices."""
        return self.to_image_mm(points_xz) / self.pixel_mm


def _pixel_pair(pixel_mm) -> tuple[float, float]:
    """``pixel_mm`` as a checked (column, row) pair."""
    pair = tuple(float(p) for p in np.broadcast_to(np.asarray(pixel_mm, dtype=np.float64), (2,)))
    low, high = PIXEL_MM_RANGE
    if not all(low <= p <= high for p in pair):
        raise ValueError(f"pixel_mm must be in [{low}, {high}] mm, got {pixel_mm}.")
    return pair


def dxa_geometry(grid: Grid, pixel_mm=DEFAULT_PIXEL_MM) -> tuple[tuple[int, int], tuple[float, float]]:
    """The pixel grid of a DXA of ``grid``: ``(W, H)`` and ``origin_mm`` (phantom ``(x, z)`` of pixel ``(0, 0)``).

    The pixels tile the grid's ``(x, z)`` extent (voxel edges, not centres) centred on it, as many as fit.
    """
    pixel = _pixel_pair(pixel_mm)
    shape, origin = [], []
    for dim, p in zip((0, 2), pixel):
        extent = grid.shape[dim] * grid.spacing[dim]
        n = max(1, int(np.floor(extent / p + 1e-9)))
        centre = grid.origin[dim] + 0.5 * (grid.shape[dim] - 1) * grid.spacing[dim]
        shape.append(n)
        origin.append(centre - 0.5 * (n - 1) * p)
    return (shape[0], shape[1]), (origin[0], origin[1])


def _sample_at_pixels(image: torch.Tensor, grid: Grid, shape, origin_mm, pixel_mm, mode="bilinear") -> torch.Tensor:
    """Values of ``(C, X, Z)`` images on ``grid``'s ``(x, z)`` at the DXA pixel centres → ``(C, W, H)``.

    ``mode`` is ``grid_sample``'s: ``"bilinear"`` for images, ``"nearest"`` for masks (the voxel cell a pixel
    centre falls in).
    """
    coords = []
    for dim, n, o, p in zip((0, 2), shape, origin_mm, pixel_mm):
        index = (o + p * torch.arange(n, dtype=torch.float64) - grid.origin[dim]) / grid.spacing[dim]
        size = grid.shape[dim]
        coords.append(2.0 * index / (size - 1) - 1.0 if size > 1 else torch.zeros_like(index))
    cx, cz = torch.meshgrid(*coords, indexing="ij")
    sample_grid = torch.stack([cz, cx], dim=-1)[None].to(image.device, image.dtype)  # grid_sample: (W-axis, H-axis)
    return F.grid_sample(image[None], sample_grid, mode=mode, padding_mode="border", align_corners=True)[0]


def _detector(image: torch.Tensor, grid: Grid, shape, origin_mm, pixel_mm, blur_mm: float) -> torch.Tensor:
    """The detector's response to ``(C, X, Z)`` images on ``grid``: PSF and pixel aperture, then sampling.

    The aperture (a box of one pixel, less the voxel's own box) is a Gaussian of the same variance, so the
    blur is one Gaussian and pixel-centre sampling keeps positions.
    """
    sigma = []
    for dim, p in zip((0, 2), pixel_mm):
        spacing = grid.spacing[dim]
        aperture_var = max(p * p - spacing * spacing, 0.0) / 12.0
        sigma.append(np.sqrt(blur_mm * blur_mm + aperture_var) / spacing)
    return _sample_at_pixels(gaussian_blur(image, sigma), grid, shape, origin_mm, pixel_mm)


def _soft_r(a_low: torch.Tensor, a_high: torch.Tensor, soft: torch.Tensor, pixel_mm) -> torch.Tensor:
    """The soft-tissue R-value ``A_low / A_high`` at every pixel, ``(W, H)``, from the bone-free body pixels nearby.

    As a scanner does, R is measured in the soft tissue beside the bone and carried across it: ratio of the
    Gaussian-weighted (``_R_SMOOTH_MM``) sums of ``A_low`` and ``A_high`` over ``soft`` pixels. Pixels with no soft
    tissue within reach take the whole image's value (lean tissue's when the image has none).
    """
    weight = soft.to(a_low.dtype)
    sigma = [s / p for s, p in zip(_R_SMOOTH_MM, pixel_mm)]
    low, high, near = gaussian_blur(torch.stack([a_low * weight, a_high * weight, weight]).float(), sigma).double()
    if bool(soft.any()):
        overall = float((a_low * weight).sum() / (a_high * weight).sum())
    else:
        overall = mass_attenuation("muscle", "dxa_low") / mass_attenuation("muscle", "dxa_high")
    near = near > _R_MIN_WEIGHT
    return torch.where(near, low / high.clamp_min(1e-30), torch.full_like(low, overall))


def render_dxa(
    fractions: torch.Tensor,
    grid: Grid,
    generator: torch.Generator,
    pixel_mm=DEFAULT_PIXEL_MM,
    blur_mm: float = 0.4,
    photons_per_mm2: float | None = None,
    tissue: Tissue | None = None,
) -> DxaImage:
    """A whole-body coronal DXA (bone and soft-tissue images) of the phantom, projected along y.

    Args:
        fractions: ``(len(MATERIALS), X, Y, Z)`` volume fractions on ``grid`` (CPU or CUDA).
        grid: the phantom's grid.
        generator: the source of every random draw (exposure and tissue when not given, photon noise).
        pixel_mm: pixel size, one value or (column, row), each in ``PIXEL_MM_RANGE`` mm.
        blur_mm: standard deviation of the detector's Gaussian PSF, mm (≥ 0).
        photons_per_mm2: unattenuated photons per mm² at each energy (> 0); drawn log-uniformly in
            ``PHOTONS_PER_MM2_RANGE`` when omitted.
        tissue: the person's cancellous bone composition; drawn with ``Tissue.sample(generator)`` when omitted.

    Returns:
        a ``DxaImage`` whose pixel grid is ``dxa_geometry(grid, pixel_mm)``.
    """
    check_fractions(fractions, grid.shape)
    pixel = _pixel_pair(pixel_mm)
    if not blur_mm >= 0.0:
        raise ValueError(f"blur_mm must be >= 0 mm, got {blur_mm}.")
    if photons_per_mm2 is None:
        u = float(torch.rand((), generator=generator, device=generator.device, dtype=torch.float64))
        low, high = np.log(PHOTONS_PER_MM2_RANGE)
        photons_per_mm2 = float(np.exp(low + u * (high - low)))
    if not photons_per_mm2 > 0.0:
        raise ValueError(f"photons_per_mm2 must be > 0, got {photons_per_mm2}.")
    tissue = tissue or Tissue.sample(generator)
    shape, origin = dxa_geometry(grid, pixel)

    paths = fractions.float().sum(dim=-2).double() * grid.spacing[1]  # (M, X, Z) path length per material, mm
    composition = tissue.composition()
    mu = np.stack([composition @ linear_attenuation(e) for e in ("dxa_low", "dxa_high")])  # (2, M), 1/mm
    mu = torch.as_tensor(mu, dtype=paths.dtype, device=paths.device)
    attenuations = torch.einsum("em,mxz->exz", mu, paths)
    bone_path = paths[MATERIALS.index("cortical")] + paths[MATERIALS.index("cancellous")]
    # The detector sees the transmitted fraction (and, for the R-value's soft-tissue mask, the bone path).
    seen = _detector(torch.cat([torch.exp(-attenuations), bone_path[None]]), grid, shape, origin, pixel, blur_mm)
    transmitted, bone_path = seen[:2], seen[2]

    counts = photons_per_mm2 * pixel[0] * pixel[1]
    noise = torch.randn(transmitted.shape, generator=generator, device=generator.device, dtype=torch.float64)
    transmitted = transmitted + noise.to(transmitted.device) * (transmitted.clamp_min(0.0) / counts).sqrt()
    a_low, a_high = -torch.log(transmitted.clamp_min(0.5 / counts))

    bone_low, bone_high = (mass_attenuation("cortical_bone", e) for e in ("dxa_low", "dxa_high"))
    soft = (bone_path < _BONE_FREE_PATH_MM) & (a_high > _BODY_ATTENUATION)
    r_soft = _soft_r(a_low, a_high, soft, pixel)
    bone = (a_low - r_soft * a_high) / (bone_low - r_soft * bone_high)  # g/cm²
    soft_areal = (a_high - bone * bone_high) / mass_attenuation("muscle", "dxa_high")
    return DxaImage(bone.float(), soft_areal.float(), pixel, origin, photons_per_mm2)


def project_mask_parallel(mask: torch.Tensor, grid: Grid, dxa: DxaImage) -> torch.Tensor:
    """The DXA truth of a 3D mask: pixels whose column along y through ``mask`` is non-empty.

    A pixel is in the mask when its centre falls in a voxel cell of the ``(x, z)`` max-projection, so the
    mask's edges lie where the projected voxels' edges are (within half a pixel).

    Args:
        mask: ``(X, Y, Z)`` bool on ``grid`` (e.g. the spine mask).
        grid: the phantom's grid.
        dxa: the image whose pixel grid to use.

    Returns:
        ``(W, H)`` bool on ``mask``'s device.
    """
    if tuple(mask.shape) != tuple(grid.shape):
        raise ValueError(f"mask shape {tuple(mask.shape)} does not match the grid {tuple(grid.shape)}.")
    # Each voxel fills its cell and nothing lies outside the grid (a mask grid may be smaller than the image): a
    # ring of empty voxels, sampled by nearest cell, puts the mask's edges on the cells' edges.
    column = F.pad(mask.bool().any(dim=1).float()[None], (1, 1, 1, 1))
    ring = Grid(
        (grid.shape[0] + 2, grid.shape[1], grid.shape[2] + 2),
        grid.spacing,
        (grid.origin[0] - grid.spacing[0], grid.origin[1], grid.origin[2] - grid.spacing[2]),
    )
    return _sample_at_pixels(column, ring, dxa.shape, dxa.origin_mm, dxa.pixel_mm, mode="nearest")[0] >= 0.5
