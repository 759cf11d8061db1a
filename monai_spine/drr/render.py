"""Studies rendered from a labelled CT: a posed copy of the CT seen as a dual-energy DXA, AP and lateral radiographs
through sampled geometries, an MRI-like volume and the CT itself, with the spine column's masks and truth
(``docs/drr.md``), as a :class:`~monai_spine.studies.RenderedStudy`.

The CT is converted once to water and bone fractions (:func:`~monai_spine.projection.hu_to_basis`) on an
isotropic working grid; a study moves that volume and the column mask by its pose, and every image is a line
integral of the two fractions, so the DXA's two energies and each radiograph's energy cost one rendering.
The truth lives in the CT's **patient volume frame** (``docs/frames.md``), with the patient moved by the pose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from monai_spine.geometry import Grid, SpineCurves, curves_from_mask, curves_from_volume
from monai_spine.geometry.pose import matrix_mri_to_dxa, resample_rigid
from monai_spine.measures import measure_spine
from monai_spine.projection import (
    AEC_QUANTA_PER_MM2,
    BONE_DENSITY_G_CM3,
    ConeBeamProjection,
    ParallelProjection,
    Projection,
    SlotScanProjection,
    aec_photons,
    hu_to_basis,
    mu_bone,
    mu_water,
    radiograph,
    render_drr,
)
from monai_spine.studies import MODALITIES, CtPart, DxaPart, RadiographPart, RenderedStudy, lai_origin_spacing

from .acquisition import Acquisition
from .column import SpineColumn, first_sacral_segment, level_centroids
from .labels import LABEL_SCHEMES, LEVEL_ORDER, LabelledCT
from .mri import AIR_HU, render_mri

__all__ = ["DXA_ENERGIES_KEV", "PATIENT_FRAME", "SCOLIOTIC_COBB_DEG", "SOFT_TISSUE_MAX_HU", "DrrSource", "dual_energy",
           "prepare_source", "render_study"]

WORK_SPACING_MM = 2.0
"""Finest voxel of the working grid the studies are rendered from, mm (about the radiographs' 1–2 mm pixels at the
isocentre; 1.5 mm took 1.8 times the CPU time a study); a coarser CT keeps its own smallest spacing."""

RADIOGRAPH_STEP_VOXELS = 1.5
"""Ray step of the AP and lateral renderings, working voxels: 0.06–0.17 % (mean over the body's pixels) from a
step of a quarter voxel on the benchmark and the real CT, a smooth bias (0.02–0.15 σ of the views' photon noise
before the automatic exposure control, which cut that noise 2–60 times behind the spine). A step of 2
voxels (0.07–0.16 %) costs a fifth less a view but moved the radiograph bundle's real-CT check from 13.1 to 14.4 mm
(the bundle is that fragile there), so the check's renders stay those of 1.5 (``docs/drr.md``, Speed)."""

SOFT_TISSUE_MAX_HU = 100.0
"""Outside the vertebra labels, CT numbers up to this are soft tissue (water-equivalent, denser or lighter), HU: muscle,
organs, blood and discs lie at about +30 to +90 HU, so none of them turns into bone in the DXA's bone image (with the
classic bilinear break at 0 HU they left 0.15 g/cm² of "bone" over the soft tissue of the real CT's renders);
above it, bone the labels do not name (pelvis, ribs, femora) is counted from this baseline (``docs/drr.md``)."""

MASK_PATH_VOXELS = 0.5
"""A pixel is in a projected column mask when its ray runs more than this many voxels through the column."""

POSE_MARGIN_MM = 40.0
"""The volume is posed over the field's z range widened by this much (the pose's shift and tilt), mm."""

DXA_ENERGIES_KEV = (40.0, 70.0)
"""The two effective energies of a K-edge filtered DXA beam (GE Lunar: about 38 and 70 keV), as the phantom's."""

RADIOGRAPH_BLUR_MM = 0.6
"""Detector blur of the AP and lateral views (Gaussian σ), mm."""

SCOLIOTIC_COBB_DEG = 10.0
"""A study is scoliotic (for the balanced split) when its truth's main coronal Cobb angle reaches this."""

PATIENT_FRAME = ("the CT's patient volume frame (docs/frames.md): x toward the patient's left, y anterior, z toward "
                 "the feet, mm from the centre of the CT's first voxel; the patient moved by the acquisition's pose")
"""How the patient frame of a ``drr`` study is placed (``truth.json``'s ``frames.phantom``)."""

_BONE_FREE_PATH_MM = 0.05
"""A DXA pixel whose bone path is below this is soft tissue only (for the R value)."""

_BODY_ATTENUATION = 0.2
"""A DXA pixel with a high-energy attenuation above this (about 1 cm of tissue) is inside the body."""

_TOTALSEG_ID = {name: label for label, name in LABEL_SCHEMES["totalseg"].items()}


@dataclass(frozen=True)
class DrrSource:
    """A labelled CT ready for rendering, on the working grid (patient volume frame, origin at the CT's first voxel).

    Args:
        basis: ``(2, X, Y, Z)`` float32 water and bone volume fractions.
        hu: ``(X, Y, Z)`` float32 CT numbers, HU.
        levels: ``(X, Y, Z)`` int16 level index into :data:`~.labels.LEVEL_ORDER` plus one (0: background).
        column: ``(X, Y, Z)`` bool spine column (bodies and discs).
        grid: the working grid.
        centroids: level name → centroid ``(3,)`` mm of its label (whole levels only).
        ids: level name → the label id in the input.
        source: the CT's file name.
    """

    basis: torch.Tensor
    hu: torch.Tensor
    levels: torch.Tensor
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


def _working_grid(grid: Grid, spacing: float) -> Grid:
    """The grid of the same first voxel and (about) the same extent as ``grid`` with ``spacing`` mm voxels."""
    extent = (np.asarray(grid.shape) - 1) * grid.spacing
    shape = tuple(int(n) for n in np.maximum(np.round(extent / spacing), 1) + 1)
    return Grid(shape, tuple(float(s) for s in extent / (np.asarray(shape) - 1)), grid.origin)


def prepare_source(ct: LabelledCT, device="cpu", spacing_mm: float = WORK_SPACING_MM,
                   soft_tissue_max_hu: float = SOFT_TISSUE_MAX_HU) -> DrrSource:
    """The CT's water/bone fractions and HU, its levels, column and centroids, on the working grid.

    The CT is resampled trilinearly and the levels by nearest neighbour; an S1 label that holds the whole sacrum is
    cut to its first segment (:func:`~.column.first_sacral_segment`); the column is cut from the levels on the
    working grid (:class:`~.column.SpineColumn`), not on the CT's finer one. The water and bone fractions
    (:func:`~monai_spine.projection.hu_to_basis`) count bone from 0 HU inside the vertebra labels (marrow and
    mineral) and from ``soft_tissue_max_hu`` elsewhere (default :data:`SOFT_TISSUE_MAX_HU`: muscle, organs and discs
    are soft tissue; 0 gives the classic bilinear conversion everywhere).
    """
    grid = _working_grid(ct.grid, max(spacing_mm, min(ct.grid.spacing)))
    same = np.eye(3), np.zeros(3)
    hu = resample_rigid(ct.hu.to(device)[None], ct.grid, grid, *same)[0]
    levels = resample_rigid(ct.labels.to(device)[None].float(), ct.grid, grid, *same, mode="nearest")[0]
    bone_from_hu = torch.where(levels > 0, 0.0, soft_tissue_max_hu)  # per voxel: 0 HU inside the vertebra labels
    levels_np = first_sacral_segment(levels.to(torch.int16).cpu().numpy(), grid.spacing)
    levels = torch.as_tensor(levels_np, device=levels.device)
    column = SpineColumn(grid.spacing)(levels_np)
    centroids = level_centroids(levels_np, grid.spacing)
    ids = {name: ct.ids[name] for name in centroids}
    basis = torch.stack(hu_to_basis(hu, soft_tissue_max_hu=bone_from_hu)).contiguous()
    return DrrSource(basis, hu, levels.to(torch.int16),
                     torch.as_tensor(column, device=device), grid, centroids, ids, ct.source)


def _field_grid(source: DrrSource, acquisition: Acquisition) -> Grid:
    """The slices of the working grid around the field of view's z range (:data:`POSE_MARGIN_MM`)."""
    grid = source.grid
    low, high = np.asarray(acquisition.field_z_mm) + (-POSE_MARGIN_MM, POSE_MARGIN_MM)
    first = max(int(np.floor(low / grid.spacing[2])), 0)
    last = min(int(np.ceil(high / grid.spacing[2])), grid.shape[2] - 1)
    return Grid((*grid.shape[:2], last - first + 1), grid.spacing, (0.0, 0.0, first * grid.spacing[2]))


def _posed(volume: torch.Tensor, source: DrrSource, field: Grid, acquisition: Acquisition,
           mode: str = "bilinear") -> torch.Tensor:
    """``(C, X, Y, Z)`` on the working grid → the posed patient's ``(C, X, Y, z)`` on ``field``."""
    rotation, shift = acquisition.rigid()
    return resample_rigid(volume, source.grid, field, rotation, shift, mode)


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


def _dxa_truth(column: torch.Tensor, field: Grid, dxa: ParallelProjection):
    """The posed column's centre line (patient frame) and six curves in the DXA image frame (depth relative)."""
    found = curves_from_volume(column.cpu().numpy(), field.spacing)
    origin = np.asarray(field.origin)
    arrays = found.curves.to_array() + (0.0, origin[2] - dxa.origin[1])
    arrays[:3, :, 0] += origin[0] - dxa.origin[0]
    return found.centre_line + origin, SpineCurves.from_array(arrays).with_relative_depth()


def _dxa_part(volume: torch.Tensor, field: Grid, acquisition: Acquisition, truth: SpineCurves,
              generator: torch.Generator) -> DxaPart:
    """The dual-energy DXA of the posed ``(water, bone, column)`` volume: bone and soft images, column mask."""
    dxa = _dxa_geometry(acquisition)
    paths = _dxa_paths(volume, field, dxa)
    bone, soft = dual_energy(paths[:2], dxa.pixel_mm[0], acquisition.dxa_photons_per_mm2, generator)
    mask = paths[2] > MASK_PATH_VOXELS * min(field.spacing)
    return DxaPart(bone, soft, mask, dxa.pixel_mm, dxa.origin, truth)


def _radiograph_part(view: str, mu: torch.Tensor, column: torch.Tensor, field: Grid, acquisition: Acquisition,
                     source: DrrSource, generator: torch.Generator) -> RadiographPart:
    """An AP or lateral radiograph of the posed μ ``(X, Y, z)`` (at the acquisition's energy, 1/mm) and its column
    mask from the posed column fraction ``(X, Y, z)``, exposed under automatic exposure control on the column
    (:func:`~monai_spine.projection.aec_photons`; the acquisition's exposure scales the quanta that end it).

    The two are rendered apart: a one-channel ``grid_sample`` costs about a third of a two-channel one on the CPU,
    and the column's rays only run through its own, much smaller, support box.
    """
    geometry = _view_geometry(view, acquisition, source)
    step_mm = RADIOGRAPH_STEP_VOXELS * min(field.spacing)
    mask = render_drr(column, field, geometry, step_mm=step_mm) > MASK_PATH_VOXELS * min(field.spacing)
    line_integral = render_drr(mu, field, geometry, step_mm=step_mm)
    quanta = AEC_QUANTA_PER_MM2 * acquisition.exposure[0 if view == "ap" else 1]
    photons = aec_photons(line_integral, mask, geometry.pixel_mm, quanta)
    image = radiograph(line_integral, geometry.pixel_mm, photons=photons, blur_mm=RADIOGRAPH_BLUR_MM,
                       generator=generator)
    return RadiographPart(image, mask, geometry, curves_from_mask(mask.cpu().numpy(), geometry.pixel_mm))


def _ct_part(source: DrrSource, field: Grid, acquisition: Acquisition, hu: torch.Tensor,
             column: torch.Tensor) -> CtPart:
    """The posed CT on ``field``: HU, TotalSegmentator vertebra ids (0 for T13 and L6, which it lacks), column."""
    levels = _posed(source.levels[None].float(), source, field, acquisition, mode="nearest")[0].long()
    to_id = torch.tensor([0, *(_TOTALSEG_ID.get(name, 0) for name in LEVEL_ORDER)], device=levels.device)
    found = curves_from_volume(column.cpu().numpy(), field.spacing)
    return CtPart(hu, to_id[levels].to(torch.uint8), column, field.affine_ras(), found.curves, found.centre_line)


def _subject(source: DrrSource, acquisition: Acquisition, centre_line: np.ndarray) -> dict:
    """``truth.json``'s subject: the source, the acquisition, the measures, the centre line and the vertebrae whose
    posed centroid lies in the field of view."""
    rotation, shift = acquisition.rigid()
    z_low, z_high = acquisition.field_z_mm
    vertebrae = [{"name": name, "label": source.ids[name], "centre_mm": np.round(rotation @ c + shift, 3).tolist()}
                 for name, c in source.centroids.items() if z_low <= (rotation @ c + shift)[2] <= z_high]
    line = centre_line
    curves = SpineCurves(*[line[:, [0, 2]]] * 3, *[line[:, [1, 2]]] * 3)
    return {
        "source": {"ct": source.source, "label_ids": source.ids},
        "acquisition": acquisition.to_dict(),
        "measures": measure_spine(curves),
        "centre_line_mm": np.round(line, 3).tolist(),
        "vertebrae": vertebrae,
    }


def _check_modalities(modalities: Sequence[str]) -> None:
    if not modalities or set(modalities) - set(MODALITIES):
        raise ValueError(f"modalities must be a non-empty subset of {MODALITIES}, got {list(modalities)}.")


def render_study(source: DrrSource, seed: int, modalities: Sequence[str] = MODALITIES) -> RenderedStudy:
    """Render study ``seed`` of ``source``: draw its acquisition, pose the CT, render the ``modalities`` asked for.

    Every group (:data:`~monai_spine.studies.MODALITIES`) draws from its own stream of the seed, so an image does
    not depend on which others are rendered beside it.
    """
    _check_modalities(modalities)
    rng = np.random.default_rng(seed)
    acquisition = Acquisition.sample(rng, source.column_box(), source.volume_box())
    device = source.basis.device
    generators = {group: torch.Generator(device=device).manual_seed(int(rng.integers(2**62)))
                  for group in ("dxa", "biplanar", "mri")}
    field = _field_grid(source, acquisition)
    projected = bool({"dxa", "biplanar"} & set(modalities))
    channels = [*([source.basis] if projected else []), source.column[None].float(),
                *([source.hu[None] - AIR_HU] if "ct" in modalities else [])]  # outside the CT: air
    posed = _posed(torch.cat(channels), source, field, acquisition)
    column, volume = posed[2 if projected else 0] >= 0.5, posed[:3] if projected else None  # (water, bone, column)
    z = field.axis(2, device=device, dtype=torch.float64)
    kept = column & (z >= acquisition.field_z_mm[0]) & (z <= acquisition.field_z_mm[1])
    centre_line, dxa_truth = _dxa_truth(kept, field, _dxa_geometry(acquisition))
    parts = {}
    if "ct" in modalities:
        parts["ct"] = _ct_part(source, field, acquisition, posed[-1] + AIR_HU, column)
    if "dxa" in modalities:
        parts["dxa"] = _dxa_part(volume, field, acquisition, dxa_truth, generators["dxa"])
    if "biplanar" in modalities:  # one attenuation channel at the views' energy
        energy = acquisition.radiograph_energy_kev
        mu = mu_water(energy) * volume[0] + mu_bone(energy) * volume[1]
        for view in ("ap", "lateral"):
            parts[view] = _radiograph_part(view, mu, volume[2], field, acquisition, source, generators["biplanar"])
    relations = {}
    if "mri" in modalities:
        rotation, shift = acquisition.rigid()
        centre = rotation @ np.asarray(acquisition.centre_mm) + shift
        parts["mri"], pose = render_mri(source.hu, source.column, source.levels > 0, source.grid, rotation, shift,
                                        centre[[0, 2]], generators["mri"])
        origin, _ = lai_origin_spacing(parts["mri"].affine)
        if "dxa" in modalities:
            matrix = matrix_mri_to_dxa(pose, (origin[0], origin[2]), parts["dxa"].origin_mm)
            relations["matrix_mri_to_dxa"] = np.round(matrix, 6).tolist()
        relations["mri_posture_changed"] = False
    subject = _subject(source, acquisition, centre_line)
    scoliotic = abs(subject["measures"]["coronal_cobb_deg"] or 0.0) >= SCOLIOTIC_COBB_DEG
    return RenderedStudy(source="drr", seed=seed, labels={"scoliotic": scoliotic}, subject=subject,
                         patient_frame=PATIENT_FRAME, relations=relations, **parts)
