"""Whole-body DXA of a phantom: dual-energy parallel projection, photon noise and the R-value decomposition.

The scanner is modelled as a parallel projection along y (the narrow-angle fan of a Lunar iDXA rastered head to
feet is close to one). At each of the two effective energies the attenuation ``A_E = Σ_y μ_E dy`` becomes a
transmitted fraction ``exp(−A_E)``; the detector blurs it and integrates it over each pixel, counts photons
(Poisson, per-study exposure) and takes ``−log`` again. The standard R-value decomposition then splits the two
attenuation images into bone and soft-tissue areal densities (``docs/phantom_imaging.md``).

The image covers the trunk grid or, given the phantom's anatomy, a whole-body scanner's field: the trunk grid's
projection sits in it and the head, arms and legs (``extremities.py``) add their analytic line integrals.

The **DXA image frame** is the coronal image frame of ``docs/frames.md``: pixel ``(column, row)`` lies at
``(column × pixel_mm[0], row × pixel_mm[1])`` mm, and at phantom-frame ``(x, z) = origin_mm + that``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from monai_spine.geometry.grid import Grid

from ..anatomy import Anatomy
from ..extremities import extremity_parts, material_paths, vertex_z
from ..filters import gaussian_blur
from ..materials import MATERIALS, Tissue, check_fractions, linear_attenuation, mass_attenuation

__all__ = [
    "DEFAULT_PIXEL_MM",
    "PHOTONS_PER_MM2_RANGE",
    "PIXEL_MM_RANGE",
    "WHOLE_BODY_FIELD_MM",
    "DxaImage",
    "dxa_geometry",
    "dxa_geometry_whole_body",
    "project_mask_parallel",
    "render_dxa",
    "skip_dxa_draws",
]

DEFAULT_PIXEL_MM = 1.0
"""Default pixel size (mm): whole-body DXA scanners sample at ~0.3–1.2 mm; 1 mm keeps a trunk image ~400 × 700."""

PIXEL_MM_RANGE = (0.5, 2.5)
"""Allowed pixel sizes, mm."""

WHOLE_BODY_FIELD_MM = (600.0, 1950.0)
"""Width and height of a whole-body scan field, mm (whole-body scanners cover ~60–66 × 195–198 cm)."""

HEAD_MARGIN_MM = 30.0
"""The top of the head lies this far below the top of a whole-body field (positioning: a few cm), mm."""

PHOTONS_PER_MM2_RANGE = (1.0e4, 1.0e5)
"""Per-study exposure (unattenuated photons per mm² at each energy), drawn log-uniformly: a 3–6 µGy whole-body scan
at ~40 keV is ~2 × 10⁴ photons/mm² per µGy of air kerma."""

_R_SMOOTH_MM = (25.0, 5.0)
"""Standard deviations (x, z; mm) of the neighbourhood the soft-tissue R-value is measured in: wide along the
scan line (from either side it reaches the middle of a lumbar vertebra), narrow across lines (tissue changes with
height)."""

_R_POOL_SIGMA_PX = 3.0
"""The R-value's neighbourhood sums are blurred on pixels pooled (block means) along an axis until its σ spans
at least this many of them, then interpolated back: the same Gaussian sums to ~1 % inside the body, ~5× faster."""

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


def dxa_geometry_whole_body(
    anatomy: Anatomy, grid: Grid, pixel_mm=DEFAULT_PIXEL_MM, field_mm=WHOLE_BODY_FIELD_MM
) -> tuple[tuple[int, int], tuple[float, float]]:
    """The pixel grid of a whole-body DXA: ``(W, H)`` and ``origin_mm`` (phantom ``(x, z)`` of pixel ``(0, 0)``).

    As many pixels as fit in ``field_mm`` (width, height), centred in x on the body's midline, the field's top
    :data:`HEAD_MARGIN_MM` above the head, then shifted by less than a pixel onto the pixels of
    ``dxa_geometry(grid, pixel_mm)``: the trunk is sampled as in a DXA of the grid alone. A person taller than the
    field loses the soles, one broader loses the arms' outer edges, as on a scanner.
    """
    pixel = _pixel_pair(pixel_mm)
    field = tuple(float(f) for f in field_mm)
    if len(field) != 2 or not all(f >= p for f, p in zip(field, pixel)):
        raise ValueError(f"field_mm must be (width, height) of at least a pixel, got {field_mm}.")
    shape = tuple(int(np.floor(f / p + 1e-9)) for f, p in zip(field, pixel))
    x_mid = float(np.mean(anatomy.torso.centre_x))
    nominal = (x_mid - 0.5 * (shape[0] - 1) * pixel[0], vertex_z(anatomy) - HEAD_MARGIN_MM + 0.5 * pixel[1])
    _, trunk = dxa_geometry(grid, pixel)
    origin = tuple(t + np.round((o - t) / p) * p for o, t, p in zip(nominal, trunk, pixel))
    return (shape[0], shape[1]), (float(origin[0]), float(origin[1]))


def _pixel_grid(grid: Grid, pixel_mm, anatomy: Anatomy | None, field_mm) -> tuple[tuple[int, int], tuple[float, float]]:
    """:func:`dxa_geometry` of the trunk grid, or with ``anatomy`` :func:`dxa_geometry_whole_body` in ``field_mm``
    (default :data:`WHOLE_BODY_FIELD_MM`)."""
    if anatomy is None:
        return dxa_geometry(grid, pixel_mm)
    return dxa_geometry_whole_body(anatomy, grid, pixel_mm, WHOLE_BODY_FIELD_MM if field_mm is None else field_mm)


def _within(origin: float, pixel: float, n: int, low: float, high: float) -> slice:
    """The pixels along one axis whose centres ``origin + i · pixel`` lie in ``[low, high)``."""
    first = min(max(int(np.ceil((low - origin) / pixel - 1e-9)), 0), n)
    return slice(first, min(max(int(np.ceil((high - origin) / pixel - 1e-9)), first), n))


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


def _pool(image: torch.Tensor, axis: int, k: int) -> torch.Tensor:
    """Means of blocks of ``k`` pixels along ``axis`` of a 3D image (zero-padded at the end)."""
    n = image.shape[axis]
    padded = F.pad(image, (0, 0, 0, (-n) % k) if axis == 1 else (0, (-n) % k))
    shape = list(padded.shape)
    shape[axis : axis + 1] = [shape[axis] // k, k]
    return padded.reshape(shape).mean(dim=axis + 1)


def _unpool(image: torch.Tensor, axis: int, k: int, n: int) -> torch.Tensor:
    """``n`` pixels along ``axis`` interpolated linearly from the centres of blocks of ``k`` (inverse of ``_pool``)."""
    blocks = image.shape[axis]
    position = ((torch.arange(n, dtype=torch.float64) + 0.5) / k - 0.5).clamp(0.0, blocks - 1)
    below = position.floor().long()
    above = (below + 1).clamp_max(blocks - 1)
    shape = [1] * image.ndim
    shape[axis] = n
    w = (position - below).to(image.device, image.dtype).view(shape)
    low, high = (image.index_select(axis, i.to(image.device)) for i in (below, above))
    return low * (1 - w) + high * w


def _smooth(image: torch.Tensor, sigma) -> torch.Tensor:
    """Gaussian blur of the last two axes of ``(C, W, H)`` with ``sigma`` (pixels), through pooled pixels.

    Along an axis with ``σ ≥ 2 × _R_POOL_SIGMA_PX`` the image is pooled into blocks of
    ``k = ⌊σ / _R_POOL_SIGMA_PX⌋`` pixels, blurred by the rest of the variance, ``σ² − (k² − 1) / 12``, and
    interpolated back from the block centres.
    """
    factors = [max(1, int(s // _R_POOL_SIGMA_PX)) for s in sigma]
    out = image
    for axis, k in enumerate(factors, start=1):
        out = _pool(out, axis, k) if k > 1 else out
    out = gaussian_blur(out, [np.sqrt(max(s * s - (k * k - 1) / 12.0, 0.0)) / k for s, k in zip(sigma, factors)])
    for axis, k in enumerate(factors, start=1):
        out = _unpool(out, axis, k, image.shape[axis]) if k > 1 else out
    return out


def _soft_r(a_low: torch.Tensor, a_high: torch.Tensor, soft: torch.Tensor, pixel_mm) -> torch.Tensor:
    """The soft-tissue R-value ``A_low / A_high`` at every pixel, ``(W, H)``, from the bone-free body pixels nearby.

    As a scanner does, R is measured in the soft tissue beside the bone and carried across it: ratio of the
    Gaussian-weighted (``_R_SMOOTH_MM``) sums of ``A_low`` and ``A_high`` over ``soft`` pixels. Pixels with no soft
    tissue within reach take the whole image's value (lean tissue's when the image has none).
    """
    weight = soft.to(a_low.dtype)
    sigma = [s / p for s, p in zip(_R_SMOOTH_MM, pixel_mm)]
    low, high, near = _smooth(torch.stack([a_low * weight, a_high * weight, weight]).float(), sigma).double()
    if bool(soft.any()):
        overall = float((a_low * weight).sum() / (a_high * weight).sum())
    else:
        overall = mass_attenuation("muscle", "dxa_low") / mass_attenuation("muscle", "dxa_high")
    near = near > _R_MIN_WEIGHT
    return torch.where(near, low / high.clamp_min(1e-30), torch.full_like(low, overall))


def _seen(lines: torch.Tensor) -> torch.Tensor:
    """``(3, ...)`` line integrals at both energies and bone path → transmitted fractions and bone path."""
    return torch.cat([torch.exp(-lines[:2]), lines[2:]])


def _trunk(fractions: torch.Tensor, grid: Grid, weights: np.ndarray, shape, origin_mm, pixel_mm, blur_mm: float):
    """The detector's view of the trunk grid, ``(3, W, H)`` float64: transmission at both energies, bone path (mm).

    Pixels whose centres lie outside the grid's box see nothing of it (transmission 1, no bone).
    """
    paths = fractions.float().sum(dim=-2).double() * grid.spacing[1]  # (M, X, Z) path length per material, mm
    lines = torch.einsum("cm,mxz->cxz", torch.as_tensor(weights, dtype=paths.dtype, device=paths.device), paths)
    out = torch.zeros((3, *shape), dtype=torch.float64, device=paths.device)
    out[:2] = 1.0
    inside, first = [], []
    for dim, n, o, p in zip((0, 2), shape, origin_mm, pixel_mm):
        low = grid.origin[dim] - 0.5 * grid.spacing[dim]
        inside.append(_within(o, p, n, low, low + grid.shape[dim] * grid.spacing[dim]))
        first.append(o + inside[-1].start * p)
    size = [s.stop - s.start for s in inside]
    if min(size) > 0:
        out[:, inside[0], inside[1]] = _detector(_seen(lines), grid, size, first, pixel_mm, blur_mm)
    return out


def _extremities(anatomy: Anatomy, grid: Grid, weights: np.ndarray, shape, origin_mm, pixel_mm):
    """The detector's view of the head, arms and legs, ``(3, W, H)`` float64 (as :func:`_trunk`), on the CPU.

    The analytic line integrals are taken at the pixel centres, unblurred: blurring them apart from the trunk's
    would smear the joins at the grid's edges, and the PSF and the aperture are below a pixel.
    """
    lines = material_paths(extremity_parts(anatomy, grid), origin_mm, pixel_mm, shape, torch.as_tensor(weights))
    return _seen(lines.double())


def render_dxa(
    fractions: torch.Tensor,
    grid: Grid,
    generator: torch.Generator,
    pixel_mm=DEFAULT_PIXEL_MM,
    blur_mm: float = 0.4,
    photons_per_mm2: float | None = None,
    tissue: Tissue | None = None,
    anatomy: Anatomy | None = None,
    field_mm=None,
) -> DxaImage:
    """A coronal DXA (bone and soft-tissue images) of the phantom, projected along y.

    Args:
        fractions: ``(len(MATERIALS), X, Y, Z)`` volume fractions on ``grid`` (CPU or CUDA).
        grid: the phantom's grid.
        generator: the source of every random draw (exposure and tissue when not given, photon noise).
        pixel_mm: pixel size, one value or (column, row), each in ``PIXEL_MM_RANGE`` mm.
        blur_mm: standard deviation of the detector's Gaussian PSF, mm (≥ 0).
        photons_per_mm2: unattenuated photons per mm² at each energy (> 0); drawn log-uniformly in
            ``PHOTONS_PER_MM2_RANGE`` when omitted.
        tissue: the person's cancellous bone composition; drawn with ``Tissue.sample(generator)`` when omitted.
        anatomy: the phantom's anatomy, for a whole-body DXA: the trunk grid's projection in a scanner's field, with
            the head, arms and legs of :func:`~monai_spine.phantom.extremities.extremity_parts`; ``None``: the trunk
            grid alone.
        field_mm: ``(width, height)`` of the whole-body field, mm (with ``anatomy``; default
            :data:`WHOLE_BODY_FIELD_MM`).

    Returns:
        a ``DxaImage`` whose pixel grid is ``dxa_geometry(grid, pixel_mm)``, or with ``anatomy``
        ``dxa_geometry_whole_body(anatomy, grid, pixel_mm, field_mm)``.
    """
    check_fractions(fractions, grid.shape)
    pixel = _pixel_pair(pixel_mm)
    if not blur_mm >= 0.0:
        raise ValueError(f"blur_mm must be >= 0 mm, got {blur_mm}.")
    if field_mm is not None and anatomy is None:
        raise ValueError("field_mm needs anatomy (a whole-body DXA).")
    if photons_per_mm2 is None:
        u = float(torch.rand((), generator=generator, device=generator.device, dtype=torch.float64))
        low, high = np.log(PHOTONS_PER_MM2_RANGE)
        photons_per_mm2 = float(np.exp(low + u * (high - low)))
    if not photons_per_mm2 > 0.0:
        raise ValueError(f"photons_per_mm2 must be > 0, got {photons_per_mm2}.")
    tissue = tissue or Tissue.sample(generator)
    shape, origin = _pixel_grid(grid, pixel, anatomy, field_mm)

    composition = tissue.composition()
    mu = np.stack([composition @ linear_attenuation(e) for e in ("dxa_low", "dxa_high")])  # (2, M), 1/mm
    bone_rows = np.isin(MATERIALS, ("cortical", "cancellous", "titanium", "steel")).astype(np.float64)
    weights = np.vstack([mu, bone_rows])  # line integrals at both energies and the bone (and metal) path
    # The detector sees the transmitted fraction (and, for the R-value's soft-tissue mask, the bone path: pixels
    # through bone or metal are not soft-tissue reference, as a scanner excludes implants and artefacts).
    seen = _trunk(fractions, grid, weights, shape, origin, pixel, blur_mm)
    transmitted, bone_path = seen[:2], seen[2]
    if anatomy is not None:
        limbs = _extremities(anatomy, grid, weights, shape, origin, pixel).to(seen.device)
        transmitted, bone_path = transmitted * limbs[:2], bone_path + limbs[2]

    counts = photons_per_mm2 * pixel[0] * pixel[1]
    noise = torch.randn(transmitted.shape, generator=generator, device=generator.device)
    noise = noise.to(transmitted.device, transmitted.dtype)
    transmitted = transmitted + noise * (transmitted.clamp_min(0.0) / counts).sqrt()
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


def skip_dxa_draws(generator: torch.Generator, grid: Grid, pixel_mm=DEFAULT_PIXEL_MM, anatomy: Anatomy | None = None,
                   field_mm=None) -> None:
    """Advance ``generator`` past the draws of ``render_dxa(fractions, grid, generator, pixel_mm, tissue=tissue,
    anatomy=anatomy, field_mm=field_mm)`` (exposure drawn) without rendering, so that what a study renders next is
    unchanged."""
    shape, _ = _pixel_grid(grid, _pixel_pair(pixel_mm), anatomy, field_mm)
    torch.rand((), generator=generator, device=generator.device, dtype=torch.float64)
    torch.randn((2, *shape), generator=generator, device=generator.device)
