"""Digitally reconstructed radiographs (DRRs): line integrals of attenuation volumes along a geometry's rays.

Units: linear attenuation ``mu`` in 1/mm, lengths in mm, so line integrals are dimensionless (``∫ mu dl``).
The volume lives on a :class:`~monai_spine.geometry.grid.Grid` (voxel axes along the patient frame's x, y, z); each
voxel fills its cell, so the volume's box runs from half a voxel before the first centre to half a voxel after the
last. Rays are sampled at the midpoints of equal steps between their entry into and exit from that box, with
trilinear interpolation (``torch.nn.functional.grid_sample``). See ``docs/projection.md``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from monai.networks.layers import gaussian_1d, separable_filtering

from monai_spine.geometry.grid import Grid

from .geometry import Projection

__all__ = ["AEC_QUANTA_PER_MM2", "BONE_DENSITY_G_CM3", "DEFAULT_STEP_VOXELS", "render_drr", "radiograph_mask",
           "radiograph", "aec_photons", "mu_water", "mu_bone", "hu_to_basis", "ct_to_mu"]

AEC_QUANTA_PER_MM2 = 3000.0
"""Quanta per mm² an automatic exposure control lets reach the detector behind the spine at nominal exposure: about
0.09 µGy of detector air kerma (3.4 × 10⁴ quanta/mm² per µGy at 60 keV, from NIST's μen/ρ of air), below the 1–5 µGy
at which a radiographic room's AEC ends a spine view, so the views stay on the noisy, low-dose side."""

DEFAULT_STEP_VOXELS = 1.0
"""Default ray step as a fraction of the smallest voxel spacing (accuracy and timings in ``docs/projection.md``)."""

MAX_SAMPLES = 2**21
"""Ray samples interpolated at once (per volume of a batch of B): one chunk takes about ``MAX_SAMPLES × (12 + 8 B)``
bytes (sample coordinates, samples and their running sums in float32)."""


def _box_intersection(origins, directions, low, high, half_line: bool):
    """Entry and exit distances ``(R,)`` of rays ``(R, 3)`` through the box ``[low, high]`` (slab method)."""
    parallel = directions == 0
    inverse = 1.0 / torch.where(parallel, torch.ones_like(directions), directions)
    t_low, t_high = (low - origins) * inverse, (high - origins) * inverse
    inside = (origins >= low) & (origins <= high)
    # A ray parallel to a slab: no constraint from it when inside, an empty interval (both +inf) when outside.
    t_low = torch.where(parallel, torch.where(inside, -math.inf, math.inf), t_low)
    t_high = torch.where(parallel, math.inf, t_high)
    near = torch.minimum(t_low, t_high).amax(dim=1)
    far = torch.maximum(t_low, t_high).amin(dim=1)
    if half_line:
        near = near.clamp(min=0.0)
    return near, far


def _support_box(occupied: torch.Tensor, grid: Grid):
    """Corners ``(3,), (3,)`` mm of the box of voxel cells around the ``occupied`` (non-zero) voxels ``(X, Y, Z)``,
    with one voxel of margin so that interpolation outside the box only meets zeros."""
    first, last = [], []
    for dim in range(3):
        nonzero = torch.nonzero(occupied.any(dim=tuple(d for d in range(3) if d != dim))).flatten().cpu()
        first.append(max(int(nonzero[0]) - 1, 0))
        last.append(min(int(nonzero[-1]) + 1, grid.shape[dim] - 1))
    spacing, origin = np.asarray(grid.spacing), np.asarray(grid.origin)
    low = origin + (np.asarray(first) - 0.5) * spacing
    high = origin + (np.asarray(last) + 0.5) * spacing
    return torch.as_tensor(low), torch.as_tensor(high)


def _normalised(points, grid: Grid):
    """Patient-frame points ``(..., 3)`` mm → ``grid_sample`` coordinates ``(..., 3)`` ordered (z, y, x)."""
    origin = torch.tensor(grid.origin, dtype=points.dtype, device=points.device)
    scale = torch.tensor([2.0 / (s * max(n - 1, 1)) for s, n in zip(grid.spacing, grid.shape)], dtype=points.dtype,
                         device=points.device)
    return ((points - origin) * scale - 1.0).flip(-1)


def _sample_counts(length: torch.Tensor, step_mm: float) -> torch.Tensor:
    """Samples needed on chords of ``length`` mm for steps no longer than ``step_mm`` (at least 1)."""
    return torch.ceil(length / step_mm - 1e-9).clamp(min=1).long()  # 1e-9: k steps exactly stay k samples


def _ray_samples(origins, directions, near, length, counts, grid: Grid):
    """First sample and step between samples of ``counts`` ``(...)`` midpoint samples on each ray's chord.

    Returns: normalised first samples ``(..., 3)``, normalised steps ``(..., 3)`` and the steps ``(...)`` in mm.
    """
    step = length / counts
    first = origins + (near + step / 2)[..., None] * directions
    first_n = _normalised(first, grid)
    return first_n, _normalised(first + step[..., None] * directions, grid) - first_n, step


def _march(first, delta, n_samples: int) -> torch.Tensor:
    """Sample coordinates ``(..., n_samples, C)`` from first samples ``(..., C)`` and steps ``(..., C)``."""
    index = torch.arange(n_samples, dtype=first.dtype, device=first.device)[:, None]
    return torch.addcmul(first[..., None, :], index, delta[..., None, :])


def _first_sums(samples, counts) -> torch.Tensor:
    """Sums ``(...)`` of the first ``counts`` ``(...)`` of ``samples`` ``(..., K)`` (each ray's own samples)."""
    index = (counts - 1).to(samples.device).expand(samples.shape[:-1])[..., None]
    return torch.cumsum(samples, dim=-1).gather(-1, index)[..., 0]


def _integrate_rays(volume, grid: Grid, origins, directions, near, length, step_mm: float, mode: str):
    """Line integrals ``(B, R)`` along rays ``(R, 3)`` by trilinear sampling of ``volume`` ``(1, B, X, Y, Z)``."""
    out = torch.zeros(volume.shape[1], len(origins), dtype=volume.dtype, device=volume.device)
    hits = torch.nonzero(length > 0).flatten()
    counts = _sample_counts(length[hits], step_mm)
    per_chunk = max(1, MAX_SAMPLES // int(counts.max())) if len(hits) else 1
    for start in range(0, len(hits), per_chunk):
        rays, n = hits[start : start + per_chunk], counts[start : start + per_chunk]
        first, delta, step = _ray_samples(origins[rays], directions[rays], near[rays], length[rays], n, grid)
        coords = _march(first.to(volume), delta.to(volume), int(n.max()))  # (R, K, 3)
        samples = F.grid_sample(volume, coords[None, None], mode=mode, padding_mode="border", align_corners=True)
        out[:, rays.to(volume.device)] = _first_sums(samples[0, :, 0], n) * step.to(volume)
    return out


def _in_row_planes(origins, directions) -> bool:
    """Whether every ray ``(W, H, 3)`` stays in the horizontal plane of its row (parallel and slot-scan views)."""
    return bool((directions[..., 2] == 0).all() and (origins[..., 2] == origins[:1, :, 2]).all())


def _row_slices(slabs, grid: Grid, z_mm, mode: str):
    """Slices ``(h, B, X, Y)`` of ``slabs`` ``(Z, B, X, Y)`` at heights ``z_mm`` ``(h,)``, interpolated along z."""
    index = ((z_mm - grid.origin[2]) / grid.spacing[2]).clamp(0, grid.shape[2] - 1)
    if mode == "nearest":
        return slabs[index.round().long().to(slabs.device)]
    low = index.floor().long().clamp(max=max(grid.shape[2] - 2, 0))
    high = (low + 1).clamp(max=grid.shape[2] - 1)
    weight = (index - low).to(slabs)[:, None, None, None]
    return torch.lerp(slabs[low.to(slabs.device)], slabs[high.to(slabs.device)], weight)


def _integrate_rows(volume, grid: Grid, origins, directions, near, length, step_mm: float, mode: str):
    """Line integrals ``(B, W, H)`` along horizontal rays ``(W, H, 3)``, row ``r`` in the plane of its height.

    Trilinear interpolation there is bilinear interpolation in the slice interpolated to the row's height, so each
    row samples one 2D slice (``grid_sample`` in 2D, several times faster than in 3D).
    """
    batch, nx, ny = volume.shape[1], grid.shape[0], grid.shape[1]
    out = torch.zeros(batch, *length.shape, dtype=volume.dtype, device=volume.device)
    hit = length > 0
    rows, columns = torch.nonzero(hit.any(0)).flatten(), torch.nonzero(hit.any(1)).flatten()
    if not len(rows):
        return out
    columns = slice(int(columns[0]), int(columns[-1]) + 1)  # the range of columns that hit: skip the rest
    origins, directions, near, length = (v[columns] for v in (origins, directions, near, length))
    width = length.shape[0]
    counts = _sample_counts(length, step_mm)  # (W, H)
    slabs = volume[0].permute(3, 0, 1, 2).contiguous()  # (Z, B, X, Y)
    per_chunk = max(1, MAX_SAMPLES // max(width * int(counts.max()), batch * nx * ny))
    for start in range(0, len(rows), per_chunk):
        chunk = rows[start : start + per_chunk]
        n = counts[:, chunk].T  # (h, W)
        first, delta, step = _ray_samples(origins[:, chunk].transpose(0, 1), directions[:, chunk].transpose(0, 1),
                                          near[:, chunk].T, length[:, chunk].T, n, grid)
        coords = _march(first[..., 1:].to(volume), delta[..., 1:].to(volume), int(n.max()))  # (h, W, K, 2): y, x
        slices = _row_slices(slabs, grid, origins[0, chunk, 2], mode)
        samples = F.grid_sample(slices, coords, mode=mode, padding_mode="border", align_corners=True)  # (h, B, W, K)
        integrals = _first_sums(samples, n[:, None]) * step[:, None].to(volume)  # (h, B, W)
        out[:, columns, chunk.to(volume.device)] = integrals.permute(1, 2, 0)
    return out


def render_drr(mu: torch.Tensor, grid: Grid, geometry: Projection, step_mm: float | None = None,
               mode: str = "bilinear") -> torch.Tensor:
    """Line integrals of ``mu`` along every detector pixel's ray.

    Args:
        mu: linear attenuation, 1/mm, ``(X, Y, Z)`` or a batch ``(B, X, Y, Z)`` of volumes on the same grid; the
            rendering runs on ``mu``'s device (CUDA included).
        grid: the voxel grid of ``mu`` in the patient frame.
        geometry: the projection (parallel, cone-beam or slot-scan).
        step_mm: the largest distance between samples along a ray, mm; default ``DEFAULT_STEP_VOXELS`` × the
            smallest voxel spacing. Each ray uses equal steps no longer than this between its entry and exit.
        mode: ``"bilinear"`` (trilinear interpolation) or ``"nearest"`` (each voxel a uniform cell).

    Returns:
        ``∫ mu dl`` (dimensionless), ``(W, H)`` or ``(B, W, H)``, float of ``mu``'s dtype; 0 where a ray misses.
    """
    if tuple(mu.shape[-3:]) != tuple(grid.shape) or mu.ndim not in (3, 4):
        raise ValueError(f"mu of shape {tuple(mu.shape)} does not match the grid {grid.shape}")
    if mode not in ("bilinear", "nearest"):
        raise ValueError(f"mode must be 'bilinear' or 'nearest', got {mode!r}")
    volume = mu if mu.is_floating_point() else mu.float()
    volume = volume.reshape(1, -1, *grid.shape)  # batch of volumes as channels sharing every ray
    step_mm = DEFAULT_STEP_VOXELS * min(grid.spacing) if step_mm is None else float(step_mm)

    occupied = volume[0].ne(0).any(0)
    if not occupied.any():
        return torch.zeros(*mu.shape[:-3], *geometry.shape, dtype=volume.dtype, device=volume.device)
    origins, directions = geometry.rays(dtype=torch.float64)
    low, high = _support_box(occupied, grid)
    near, far = _box_intersection(origins.reshape(-1, 3), directions.reshape(-1, 3), low, high, geometry.HALF_LINE)
    length = (far - near).clamp(min=0.0)
    near = torch.where(length > 0, near, 0.0)  # rays that miss: a finite start and no length
    if _in_row_planes(origins, directions):
        out = _integrate_rows(volume, grid, origins, directions, near.reshape(geometry.shape),
                              length.reshape(geometry.shape), step_mm, mode)
    else:
        out = _integrate_rays(volume, grid, origins.reshape(-1, 3), directions.reshape(-1, 3), near, length, step_mm,
                              mode).reshape(-1, *geometry.shape)
    return out if mu.ndim == 4 else out[0]


def radiograph_mask(mask: torch.Tensor, grid: Grid, geometry: Projection, threshold_mm: float = 0.0,
                 step_mm: float | None = None) -> torch.Tensor:
    """Detector pixels whose ray crosses ``mask``: the mask's truth in a radiograph.

    Args:
        mask: bool ``(X, Y, Z)`` (or ``(B, X, Y, Z)``) on ``grid``; each true voxel is a solid cell.
        grid, geometry: as for :func:`render_drr`.
        threshold_mm: a pixel is in the projected mask when its ray runs more than this length (mm) inside.
        step_mm: sampling step, mm; default half the smallest voxel spacing so that thin parts are not skipped.

    Returns:
        bool ``(W, H)`` (or ``(B, W, H)``).
    """
    step_mm = 0.5 * min(grid.spacing) if step_mm is None else step_mm
    length = render_drr(mask.to(torch.float32), grid, geometry, step_mm=step_mm, mode="nearest")
    return length > threshold_mm


def radiograph(line_integral: torch.Tensor, pixel_mm, photons: float | None = 1e4, blur_mm: float = 0.0,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """A stored radiograph from line integrals: transmission, blur, quantum noise, log transform.

    The expected photon count per pixel is ``N = photons · exp(-∫mu)``; it is blurred by a Gaussian of standard
    deviation ``blur_mm`` (focal spot and detector together), then drawn from a Poisson law, and stored as
    ``p = ln(photons / max(N, 1))``, the estimated line integral, as a flat-field-corrected, log-transformed
    radiograph is (bone bright, air ≈ 0). :func:`aec_photons` gives ``photons`` for a view under automatic exposure
    control.

    Args:
        line_integral: ``∫mu dl`` (dimensionless), ``(W, H)`` or ``(B, W, H)``.
        pixel_mm: detector pixel spacing ``(column, row)``, mm (for the blur).
        photons: unattenuated photons per pixel; ``None`` for no noise.
        blur_mm: Gaussian blur standard deviation at the detector, mm; 0 for none.
        generator: random generator of the noise (reproducible studies).

    Returns:
        float32 ``p`` of the input's shape (dimensionless; write as DICOM with a rescale slope/intercept).
    """
    nominal = 1.0 if photons is None else float(photons)
    counts = nominal * torch.exp(-line_integral.to(torch.float32))
    if blur_mm > 0:
        sigma = [blur_mm / s for s in np.broadcast_to(pixel_mm, (2,))]
        kernels = [gaussian_1d(torch.tensor(s), truncated=4.0, normalize=True).to(counts) for s in sigma]
        counts = separable_filtering(counts.reshape(-1, 1, *counts.shape[-2:]), kernels, mode="replicate")
        counts = counts.reshape(line_integral.shape)
    if photons is not None:
        counts = torch.poisson(counts, generator=generator).clamp(min=1.0)
    return torch.log(nominal / counts)


def aec_photons(line_integral: torch.Tensor, region: torch.Tensor, pixel_mm, quanta_per_mm2: float) -> float:
    """Unattenuated photons per pixel of a view taken under automatic exposure control: the exposure ends when the
    pixels of ``region`` (the chamber's field, here the spine) have received ``quanta_per_mm2`` on their median, so a
    thick patient or a lateral view gets a longer exposure, not a noisier image (pass the result to
    :func:`radiograph` as ``photons``).

    Args:
        line_integral: ``∫mu dl`` (dimensionless), ``(W, H)``.
        region: bool ``(W, H)``, the pixels the control measures; all pixels when it is empty.
        pixel_mm: detector pixel spacing ``(column, row)``, mm.
        quanta_per_mm2: quanta per mm² that end the exposure.
    """
    behind = line_integral[region] if bool(region.any()) else line_integral.reshape(-1)
    area_mm2 = float(np.prod(np.broadcast_to(pixel_mm, (2,))))
    return quanta_per_mm2 * area_mm2 * float(torch.exp(torch.median(behind.to(torch.float64))))


# NIST XCOM / NISTIR 5632 (Hubbell & Seltzer) mass attenuation coefficients μ/ρ, cm²/g, at these energies (keV):
# liquid water (ρ 1.0 g/cm³) and cortical bone, ICRU-44 (ρ 1.92 g/cm³).
_ENERGIES_KEV = np.array([30.0, 40.0, 50.0, 60.0, 80.0, 100.0, 150.0])
_WATER_CM2_G = np.array([0.3756, 0.2683, 0.2269, 0.2059, 0.1837, 0.1707, 0.1505])
_BONE_CM2_G = np.array([1.331, 0.6655, 0.4242, 0.3148, 0.2229, 0.1855, 0.1480])
_BONE_DENSITY = 1.92


def _log_interp(energy_kev: float, table: np.ndarray) -> float:
    """``table`` at ``energy_kev`` by log-log interpolation (30–150 keV)."""
    if not _ENERGIES_KEV[0] <= energy_kev <= _ENERGIES_KEV[-1]:
        raise ValueError(f"energy {energy_kev} keV outside the tabulated 30-150 keV")
    return float(np.exp(np.interp(np.log(energy_kev), np.log(_ENERGIES_KEV), np.log(table))))


def mu_water(energy_kev: float = 60.0) -> float:
    """Linear attenuation of water, 1/mm, at ``energy_kev`` (NIST XCOM; 0.02059 /mm at 60 keV)."""
    return _log_interp(energy_kev, _WATER_CM2_G) / 10.0


BONE_DENSITY_G_CM3 = _BONE_DENSITY


def mu_bone(energy_kev: float) -> float:
    """Linear attenuation of ICRU-44 cortical bone (1.92 g/cm³), 1/mm, at ``energy_kev``."""
    return _log_interp(energy_kev, _BONE_CM2_G) * _BONE_DENSITY / 10.0


def _bone_excess(energy_kev: float) -> float:
    """``mu_bone / mu_water − 1`` at ``energy_kev``: bone's attenuation above water's, per water's."""
    return mu_bone(energy_kev) / mu_water(energy_kev) - 1.0


def ct_to_mu(hu: torch.Tensor, energy_kev: float = 60.0, ct_energy_kev: float = 70.0) -> torch.Tensor:
    """Linear attenuation (1/mm) at ``energy_kev`` from CT numbers (HU), by the bilinear conversion.

    ``HU ≤ 0`` is a water–air mixture: ``mu = mu_water(E) · (1 + HU / 1000)`` (0 at −1000 and below).
    ``HU > 0`` is a water–bone mixture: the HU, measured at the CT's effective energy ``ct_energy_kev``
    (about 70 keV for 120 kVp), give the bone fraction, whose attenuation is then taken at ``energy_kev``:
    ``mu = mu_water(E) · (1 + HU / 1000 · (r(E) − 1) / (r(E_CT) − 1))``, ``r = mu_bone / mu_water``
    (Kinahan et al., Med. Phys. 25:2046, 1998; Burger et al., Eur. J. Nucl. Med. 29:922, 2002; attenuation from
    NIST XCOM for water and ICRU-44 cortical bone).

    Args:
        hu: CT numbers, any shape.
        energy_kev: effective energy of the radiograph to simulate, keV (30–150).
        ct_energy_kev: effective energy of the CT, keV (30–150).

    Returns:
        float tensor of ``hu``'s shape, 1/mm.
    """
    water, bone = hu_to_basis(hu, ct_energy_kev)
    return (mu_water(energy_kev) * water + mu_bone(energy_kev) * bone).clamp(min=0.0)


def hu_to_basis(hu: torch.Tensor, ct_energy_kev: float = 70.0,
                soft_tissue_max_hu: float | torch.Tensor = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """The water and cortical-bone volume fractions of each voxel, by the bilinear model of :func:`ct_to_mu`.

    ``HU ≤ B`` (``B = soft_tissue_max_hu``): water-equivalent tissue at density ``1 + HU / 1000`` (≥ 0), no bone.
    ``HU > B``: that tissue at ``HU = B`` mixed with cortical bone, bone fraction
    ``b = (HU − B) / 1000 / (r(E_CT) − 1 − B / 1000)`` and water ``(1 − b)(1 + B / 1000)`` (negative above
    ``b = 1``, e.g. metal: the pair still gives the measured attenuation at every energy). Both are continuous at
    ``B``, and cortical bone (``HU = 1000 (r(E_CT) − 1)``) is ``b = 1`` whatever ``B``. ``B = 0`` is the classic
    bilinear conversion. So ``mu(E) = mu_water(E) · water + mu_bone(E) · bone``, and line integrals of the two
    fractions (mm) give a radiograph at any energy, or a dual-energy pair.

    Muscle, organs, blood and discs (about +30 to +90 HU) are denser water, not water with a little bone: with
    ``B = 0`` they carry a bone fraction that a dual-energy subtraction does not cancel (``drr`` sets ``B`` per
    voxel, ``docs/drr.md``).

    Args:
        hu: CT numbers, any shape.
        ct_energy_kev: effective energy of the CT, keV (30–150).
        soft_tissue_max_hu: ``B``, HU: a number, or a tensor broadcastable to ``hu`` (one per voxel).

    Returns:
        ``(water, bone)`` float32 tensors of ``hu``'s shape (dimensionless volume fractions).
    """
    hu = torch.as_tensor(hu).to(torch.float32)
    tissue = 1.0 + torch.as_tensor(soft_tissue_max_hu, dtype=torch.float32, device=hu.device) / 1000.0
    excess = hu / 1000.0 + 1.0 - tissue
    bone = excess.clamp(min=0.0) / (_bone_excess(ct_energy_kev) + 1.0 - tissue)
    water = torch.where(excess > 0, (1.0 - bone) * tissue, (1.0 + hu / 1000.0).clamp(min=0.0))
    return water, bone
