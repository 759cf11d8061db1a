"""Studies rendered from a labelled CT: a posed copy of the CT seen as a dual-energy DXA and AP and lateral
radiographs through sampled geometries, with the spine column's masks and truth (``docs/drr.md``).

The CT is converted once to water and bone fractions (:func:`~monai_spine.projection.hu_to_basis`) on an
isotropic working grid; a study moves that volume and the column mask by its pose, and every image is a line
integral of the two fractions, so the DXA's two energies and each radiograph's energy cost one rendering.
The truth lives in the CT's **patient volume frame** (``docs/frames.md``), with the patient moved by the pose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from monai_spine.geometry import Grid, SpineCurves, curves_from_mask, curves_from_volume
from monai_spine.geometry.extract import BoundaryCurves
from monai_spine.measures import measure_spine
from monai_spine.projection import (
    BONE_DENSITY_G_CM3,
    ConeBeamProjection,
    ParallelProjection,
    Projection,
    SlotScanProjection,
    hu_to_basis,
    mu_bone,
    mu_water,
    radiograph,
    render_drr,
)

from .acquisition import Acquisition
from .column import SpineColumn, level_centroids
from .labels import LabelledCT

__all__ = ["DXA_ENERGIES_KEV", "DrrSource", "DrrStudy", "dual_energy", "prepare_source", "render_study"]

WORK_SPACING_MM = 1.5
"""Finest voxel of the working grid the studies are rendered from, mm (the radiographs' pixels at the isocentre);
a coarser CT keeps its own smallest spacing."""

MASK_PATH_VOXELS = 0.5
"""A pixel is in a projected column mask when its ray runs more than this many voxels through the column."""

POSE_MARGIN_MM = 40.0
"""The volume is posed over the field's z range widened by this much (the pose's shift and tilt), mm."""

DXA_ENERGIES_KEV = (40.0, 70.0)
"""The two effective energies of a K-edge filtered DXA beam (GE Lunar: about 38 and 70 keV), as the phantom's."""

RADIOGRAPH_PHOTONS = 2e4
"""Unattenuated photons per radiograph pixel at the nominal exposure."""

DXA_BLUR_MM, RADIOGRAPH_BLUR_MM = 0.4, 0.6
"""Detector blur (Gaussian σ), mm."""

_BONE_FREE_PATH_MM = 0.05
"""A DXA pixel whose bone path is below this is soft tissue only (for the R value)."""

_BODY_ATTENUATION = 0.2
"""A DXA pixel with a high-energy attenuation above this (about 1 cm of tissue) is inside the body."""


@dataclass(frozen=True)
class DrrSource:
    """A labelled CT ready for rendering, on the working grid (patient volume frame, origin at the CT's first voxel).

    Args:
        basis: ``(2, X, Y, Z)`` float32 water and bone volume fractions.
        column: ``(X, Y, Z)`` bool spine column (bodies and discs).
        grid: the working grid.
        centroids: level name → centroid ``(3,)`` mm of its label (whole levels only).
        ids: level name → the label id in the input.
        source: the CT's file name.
    """

    basis: torch.Tensor
    column: torch.Tensor
    grid: Grid
    centroids: dict[str, np.ndarray]
    ids: dict[str, int]
    source: str

    def column_box(self) -> tuple[np.ndarray, np.ndarray]:
        """``(low, high)`` mm of the column's voxel centres."""
        index = torch.nonzero(self.column).cpu().numpy()
        return self.grid.to_mm(index.min(0)), self.grid.to_mm(index.max(0))

    def volume_box(self) -> tuple[np.ndarray, np.ndarray]:
        """``(low, high)`` mm of the grid's voxel centres."""
        return self.grid.to_mm(np.zeros(3)), self.grid.to_mm(np.asarray(self.grid.shape) - 1)


@dataclass
class DrrStudy:
    """A rendered study: images and masks ``(W, H)`` (torch, on the rendering device), geometries and truth."""

    seed: int
    acquisition: Acquisition
    dxa_bone: torch.Tensor
    dxa_soft: torch.Tensor
    dxa_mask: torch.Tensor
    dxa_geometry: ParallelProjection
    ap: torch.Tensor
    ap_mask: torch.Tensor
    ap_geometry: Projection
    lateral: torch.Tensor
    lateral_mask: torch.Tensor
    lateral_geometry: Projection
    centre_line: np.ndarray
    truth_curves: dict[str, SpineCurves | BoundaryCurves]
    vertebrae: dict[str, np.ndarray]
    measures: dict


def _resample(volume: torch.Tensor, grid: Grid, spacing: float) -> tuple[torch.Tensor, Grid]:
    """``(C, X, Y, Z)`` trilinearly onto the grid of the same first voxel and extent with ``spacing`` mm voxels."""
    extent = (np.asarray(grid.shape) - 1) * grid.spacing
    shape = tuple(int(n) for n in np.maximum(np.round(extent / spacing), 1) + 1)
    out = F.interpolate(volume[None].float(), size=shape, mode="trilinear", align_corners=True)[0]
    return out, Grid(shape, tuple(float(s) for s in extent / (np.asarray(shape) - 1)), grid.origin)


def prepare_source(ct: LabelledCT, device="cpu", spacing_mm: float = WORK_SPACING_MM) -> DrrSource:
    """The column and centroids from ``ct``'s labels, and the water/bone fractions on the working grid."""
    levels = ct.labels.numpy()
    column = SpineColumn(ct.grid.spacing)(levels)
    centroids = level_centroids(levels, ct.grid.spacing)
    volume = torch.cat([torch.stack(hu_to_basis(ct.hu)), torch.as_tensor(column)[None].float()]).to(device)
    volume, grid = _resample(volume, ct.grid, max(spacing_mm, min(ct.grid.spacing)))
    ids = {name: ct.ids[name] for name in centroids}
    return DrrSource(volume[:2].contiguous(), volume[2] >= 0.5, grid, centroids, ids, ct.source)


def _posed(volume: torch.Tensor, grid: Grid, rotation: np.ndarray, shift: np.ndarray) -> torch.Tensor:
    """``(C, X, Y, Z)`` of a patient moved by ``p ↦ R p + t``: each voxel samples the volume at ``R⁻¹ (p − t)``.

    ``grid_sample`` coordinates ``n = p · scale − 1`` (``scale = 2 / extent``, the grid's origin at 0), so the
    source of ``n`` is ``M n + b`` with ``M = S Rᵀ S⁻¹`` and ``b = S Rᵀ (S⁻¹ 1 − t) − 1``, axes ordered (z, y, x).
    """
    scale = 2.0 / ((np.asarray(grid.shape) - 1) * grid.spacing)
    matrix = np.diag(scale) @ rotation.T @ np.diag(1.0 / scale)
    offset = scale * (rotation.T @ (1.0 / scale - shift)) - 1.0
    theta = np.concatenate([matrix[::-1, ::-1], offset[::-1, None]], axis=1)
    theta = torch.as_tensor(theta.copy(), dtype=volume.dtype, device=volume.device)[None]
    sampling = F.affine_grid(theta, [1, *volume.shape], align_corners=True)
    return F.grid_sample(volume[None], sampling, align_corners=True)[0]


def _dxa_geometry(acquisition: Acquisition) -> ParallelProjection:
    """The DXA's pixel grid over the field of view: a parallel projection along y (as the phantom's DXA)."""
    pixel = acquisition.dxa_pixel_mm
    extent = np.array([np.diff(acquisition.field_x_mm)[0], np.diff(acquisition.field_z_mm)[0]])
    shape = tuple(int(n) for n in np.floor(extent / pixel) + 1)
    return ParallelProjection(view="ap", pixel_mm=(pixel, pixel), shape=shape,
                              origin=(acquisition.field_x_mm[0], acquisition.field_z_mm[0]))


def _view_geometry(view: str, acquisition: Acquisition, source: DrrSource) -> Projection:
    """An AP or lateral view centred on the field of view, its detector covering it (AP) or the body (lateral)."""
    (x_low, x_high), (z_low, z_high) = acquisition.field_x_mm, acquisition.field_z_mm
    (v_low, v_high), (c_low, c_high) = source.volume_box(), source.column_box()
    isocentre = (0.5 * (x_low + x_high), 0.5 * (c_low[1] + c_high[1]), 0.5 * (z_low + z_high))
    across = x_high - x_low if view == "ap" else v_high[1] - v_low[1]
    sid, sod = acquisition.source_to_detector_mm, acquisition.source_to_isocentre_mm
    magnification = sid / (sod - 0.5 * (v_high[1 if view == "ap" else 0] - v_low[1 if view == "ap" else 0]))
    pixel = acquisition.radiograph_pixel_mm
    vertical = sid / sod if acquisition.geometry == "cone" else 1.0
    shape = (int(np.ceil(across * magnification / pixel)), int(np.ceil((z_high - z_low) * vertical / pixel)))
    kind = ConeBeamProjection if acquisition.geometry == "cone" else SlotScanProjection
    return kind(view=view, pixel_mm=(pixel, pixel), shape=shape, source_to_detector_mm=sid,
                source_to_isocentre_mm=sod, isocentre=isocentre)


def dual_energy(paths: torch.Tensor, pixel_mm: float, photons_per_mm2: float,
                generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Bone and soft-tissue areal densities (g/cm²) of a DXA from water and bone paths ``(2, W, H)`` mm.

    Transmission at :data:`DXA_ENERGIES_KEV` with photon noise, ``−log``, then the R-value decomposition of
    ``render_dxa``: R, the low/high attenuation ratio of soft tissue, is measured over the body's bone-free
    pixels, and ``bone = (A_low − R A_high) / (μ_bone,low − R μ_bone,high)``.
    """
    mu = torch.tensor([[mu_water(e), mu_bone(e)] for e in DXA_ENERGIES_KEV], dtype=torch.float64, device=paths.device)
    transmitted = torch.exp(-torch.einsum("eb,bwh->ewh", mu, paths.double()))
    counts = photons_per_mm2 * pixel_mm * pixel_mm
    noise = torch.randn(transmitted.shape, generator=generator, device=generator.device, dtype=torch.float64)
    transmitted = transmitted + noise.to(transmitted.device) * (transmitted / counts).sqrt()
    a_low, a_high = -torch.log(transmitted.clamp_min(0.5 / counts))
    soft = (paths[1] < _BONE_FREE_PATH_MM) & (a_high > _BODY_ATTENUATION)
    ratio = float(a_low[soft].sum() / a_high[soft].sum()) if bool(soft.any()) else float(mu[0, 0] / mu[1, 0])
    bone_mm = (a_low - ratio * a_high) / (mu[0, 1] - ratio * mu[1, 1])
    soft_mm = (a_high - bone_mm * mu[1, 1]) / mu[1, 0]
    return (bone_mm * BONE_DENSITY_G_CM3 / 10.0).float(), (soft_mm / 10.0).float()


def _field_volume(source: DrrSource, acquisition: Acquisition) -> tuple[torch.Tensor, torch.Tensor, Grid]:
    """Water and bone fractions ``(2, X, Y, z)`` and column ``(X, Y, z)`` of the posed patient, on the slices of the
    working grid around the field of view (:data:`POSE_MARGIN_MM`), and that grid."""
    grid = source.grid
    low, high = np.asarray(acquisition.field_z_mm) + (-POSE_MARGIN_MM, POSE_MARGIN_MM)
    first = max(int(np.floor(low / grid.spacing[2])), 0)
    last = min(int(np.ceil(high / grid.spacing[2])), grid.shape[2] - 1)
    field = Grid((*grid.shape[:2], last - first + 1), grid.spacing, (0.0, 0.0, first * grid.spacing[2]))
    rotation, shift = acquisition.rigid()
    origin = np.asarray(field.origin)
    volume = torch.cat([source.basis, source.column[None].float()])[..., first : last + 1]
    moved = _posed(volume, field, rotation, rotation @ origin + shift - origin)
    return moved[:2], moved[2] >= 0.5, field


def _dxa_paths(volume: torch.Tensor, grid: Grid, dxa: ParallelProjection) -> torch.Tensor:
    """Parallel line integrals along y of ``(C, X, Y, Z)`` at the DXA's pixel centres, ``(C, W, H)`` mm.

    Along y a parallel ray's integral is the column sum; in-plane the sums are interpolated bilinearly.
    """
    sums = volume.sum(dim=2) * grid.spacing[1]  # (C, X, Z)
    columns, rows = np.meshgrid(np.arange(dxa.shape[0]), np.arange(dxa.shape[1]), indexing="ij")
    points = np.stack([columns.ravel(), np.zeros(columns.size), rows.ravel()], axis=1) * [*dxa.pixel_mm[:1], 0, 1]
    points[:, 2] *= dxa.pixel_mm[1]
    points[:, [0, 2]] += dxa.origin
    index = grid.to_index(points)[:, [0, 2]] / (np.asarray(grid.shape)[[0, 2]] - 1) * 2.0 - 1.0
    sampling = torch.as_tensor(index[:, ::-1].copy(), dtype=sums.dtype, device=sums.device).reshape(1, *dxa.shape, 2)
    return F.grid_sample(sums[None], sampling, align_corners=True, padding_mode="zeros")[0]


def _truth(source: DrrSource, acquisition: Acquisition, column: torch.Tensor, grid: Grid, views: dict,
           dxa: ParallelProjection):
    """Centre line, per-image truth curves, vertebra centroids in the field, and measures."""
    z = grid.axis(2, device=column.device, dtype=torch.float64)
    z_low, z_high = acquisition.field_z_mm
    kept = (column & (z >= z_low) & (z <= z_high)).cpu().numpy()
    volume = curves_from_volume(kept, grid.spacing)
    shift = np.asarray(grid.origin)
    arrays = volume.curves.to_array() + (0.0, shift[2] - dxa.origin[1])
    arrays[:3, :, 0] -= dxa.origin[0]
    line = volume.centre_line + shift
    rotation, offset = acquisition.rigid()
    vertebrae = {name: rotation @ c + offset for name, c in source.centroids.items()}
    curves = {"dxa": SpineCurves.from_array(arrays).with_relative_depth()}
    for view, (_, mask, geometry) in views.items():
        curves[view] = curves_from_mask(mask.cpu().numpy(), geometry.pixel_mm)
    phantom_like = SpineCurves(line[:, [0, 2]], line[:, [0, 2]], line[:, [0, 2]], line[:, [1, 2]], line[:, [1, 2]],
                               line[:, [1, 2]])
    in_field = {name: c for name, c in vertebrae.items() if z_low <= c[2] <= z_high}
    return line, curves, in_field, measure_spine(phantom_like)


def render_study(source: DrrSource, seed: int) -> DrrStudy:
    """Render study ``seed`` of ``source``: draw its acquisition, pose the CT, render the DXA, AP and lateral."""
    rng = np.random.default_rng(seed)
    device = source.basis.device
    generator = torch.Generator(device=device).manual_seed(int(rng.integers(2**62)))
    acquisition = Acquisition.sample(rng, source.column_box(), source.volume_box())
    basis, column, grid = _field_volume(source, acquisition)
    volume = torch.cat([basis, column[None].float()])
    threshold = MASK_PATH_VOXELS * min(grid.spacing)

    dxa = _dxa_geometry(acquisition)
    paths = _dxa_paths(volume, grid, dxa)
    dxa_bone, dxa_soft = dual_energy(paths[:2], dxa.pixel_mm[0], acquisition.dxa_photons_per_mm2, generator)
    energy = acquisition.radiograph_energy_kev
    views = {}
    for view, exposure in zip(("ap", "lateral"), acquisition.exposure):
        geometry = _view_geometry(view, acquisition, source)
        paths_view = render_drr(volume, grid, geometry)
        line = mu_water(energy) * paths_view[0] + mu_bone(energy) * paths_view[1]
        image = radiograph(line, geometry.pixel_mm, photons=RADIOGRAPH_PHOTONS, exposure=exposure,
                           blur_mm=RADIOGRAPH_BLUR_MM, generator=generator)
        views[view] = (image, paths_view[2] > threshold, geometry)
    centre_line, curves, vertebrae, measures = _truth(source, acquisition, column, grid, views, dxa)
    return DrrStudy(
        seed=seed, acquisition=acquisition, dxa_bone=dxa_bone, dxa_soft=dxa_soft, dxa_mask=paths[2] > threshold,
        dxa_geometry=dxa, ap=views["ap"][0], ap_mask=views["ap"][1], ap_geometry=views["ap"][2],
        lateral=views["lateral"][0], lateral_mask=views["lateral"][1], lateral_geometry=views["lateral"][2],
        centre_line=centre_line, truth_curves=curves, vertebrae=vertebrae, measures=measures,
    )
