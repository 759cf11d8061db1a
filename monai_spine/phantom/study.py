"""One synthetic study: a sampled spine and body rendered as CT, MRI, DXA, AP and lateral, with exact truth.

Everything is drawn from one seed, so a study is reproducible on the same device; see ``docs/phantom.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from monai_spine.geometry import SpineCurves, curves_from_volume, spine_curves_from_views
from monai_spine.geometry.extract import BoundaryCurves
from monai_spine.geometry.grid import Grid
from monai_spine.measures import measure_spine
from monai_spine.projection import Projection, SlotScanProjection, radiograph, radiograph_mask, render_drr

from .anatomy import Anatomy, build_anatomy, level_spans, sample_body, spine_length_mm
from .materials import Tissue, attenuation
from .raster import Raster, rasterise, rasterise_column
from .render_ct import render_ct
from .render_dxa import PIXEL_MM_RANGE, DxaImage, project_mask_parallel, render_dxa
from .render_mri import MriPose, MriPosture, MriVolumes, render_mri
from .shape import PopulationModel, SpineShape, axial_rotation_deg, sample_shape, shape_centre_line
from .truth import projected_curves, slice_points

__all__ = ["StudyConfig", "Study", "make_study"]

FINE_LINE_POINTS = 2001


@dataclass(frozen=True)
class StudyConfig:
    """How studies are rendered. Lengths in mm.

    Args:
        ct_spacing_mm: isotropic voxel of the CT and of the phantom the other images are rendered from.
        column_spacing_mm: voxel of the fine spine-column grid the masks and truth curves come from.
        dxa_pixel_mm: DXA pixel spacing (0.5–2.5), or a ``(low, high)`` range to draw each study's spacing from
            (uniformly, from the study's seed): the spread of real scanners, for training data.
        dxa_whole_body: a whole-body DXA field (600 × 1950 mm, head, arms and legs added analytically) as a real
            scanner's; False for the trunk grid's extent only.
        radiograph_pixel_mm: AP and lateral detector pixel spacing.
        source_to_detector_mm, source_to_isocentre_mm: EOS-like slot-scan geometry of both views (a source
            about 1.3 m from the detector and 1 m from the patient's centre).
        mri_max_rotation_deg, mri_max_translation_mm: range of the in-plane rigid move between DXA and MRI.
        posture_share: share of studies whose MRI also has a non-rigid posture change (unalignable pairs).
        population: the population the shapes are drawn from.
    """

    ct_spacing_mm: float = 2.5
    column_spacing_mm: float = 1.0
    dxa_pixel_mm: float | tuple[float, float] = 1.0
    dxa_whole_body: bool = True
    radiograph_pixel_mm: float = 1.5
    source_to_detector_mm: float = 1300.0
    source_to_isocentre_mm: float = 1000.0
    mri_max_rotation_deg: float = 2.0
    mri_max_translation_mm: float = 20.0
    posture_share: float = 0.0
    population: PopulationModel = field(default_factory=PopulationModel)

    def __post_init__(self):
        for name in ("ct_spacing_mm", "column_spacing_mm", "radiograph_pixel_mm"):
            if not 0.2 <= getattr(self, name) <= 5.0:
                raise ValueError(f"{name} must be in [0.2, 5] mm, got {getattr(self, name)}.")
        low, high = np.broadcast_to(np.asarray(self.dxa_pixel_mm, dtype=float), (2,))
        if not PIXEL_MM_RANGE[0] <= low <= high <= PIXEL_MM_RANGE[1]:
            raise ValueError(f"dxa_pixel_mm must lie in {PIXEL_MM_RANGE} mm, got {self.dxa_pixel_mm}.")
        if not 0.0 <= self.posture_share <= 1.0:
            raise ValueError(f"posture_share must be in [0, 1], got {self.posture_share}.")
        if not 0.0 < self.source_to_isocentre_mm < self.source_to_detector_mm:
            raise ValueError("source_to_isocentre_mm must be positive and below source_to_detector_mm.")

    def dxa_pixel_for(self, seed: int) -> float:
        """Study ``seed``'s DXA pixel spacing, mm: drawn from its own stream, so other draws are unchanged."""
        low, high = np.broadcast_to(np.asarray(self.dxa_pixel_mm, dtype=float), (2,))
        return float(low) if low == high else float(np.random.default_rng([seed, 1]).uniform(low, high))


@dataclass
class Study:
    """A rendered study in memory; images are torch tensors on the rendering device, truth in numpy.

    ``*_mask`` are the spine-column masks in each image (2D ``(W, H)`` or 3D); ``truth_curves`` holds, per image,
    :class:`~monai_spine.geometry.SpineCurves` (or boundary curves) in that image's frame (``docs/phantom.md``).
    """

    seed: int
    shape: SpineShape
    anatomy: Anatomy
    grid: Grid
    raster: Raster
    ct: torch.Tensor
    dxa: DxaImage
    dxa_mask: torch.Tensor
    mri: MriVolumes
    ap: torch.Tensor
    lateral: torch.Tensor
    ap_geometry: Projection
    lateral_geometry: Projection
    ap_mask: torch.Tensor
    lateral_mask: torch.Tensor
    centre_line: np.ndarray
    truth_curves: dict[str, SpineCurves | BoundaryCurves]
    measures: dict

    @property
    def scoliotic(self) -> bool:
        return self.shape.cobb_deg >= 10.0


def _study_grid(anatomy: Anatomy, length_mm: float, spacing: float) -> Grid:
    """A grid around the torso, from 60 mm above C7 to 220 mm below the top of S1 (hips, femoral heads)."""
    torso = anatomy.torso
    half_width = float(np.max(np.abs(torso.centre_x) + torso.half_width))
    low = (-half_width - 5.0, float(np.min(torso.centre_y - torso.half_depth)) - 5.0, -60.0)
    high = (half_width + 5.0, float(np.max(torso.centre_y + torso.half_depth)) + 5.0, length_mm + 220.0)
    return Grid.covering(low, high, (spacing,) * 3)


def _column_grid(line: np.ndarray, spacing: float) -> Grid:
    """A grid hugging the spine column: the centre line's box widened by 45 mm across, 5 mm at the ends."""
    return Grid.covering(line.min(axis=0) - (45.0, 45.0, 5.0), line.max(axis=0) + (45.0, 45.0, 5.0), (spacing,) * 3)


def _slot_scan(view: str, grid: Grid, config: StudyConfig, isocentre) -> SlotScanProjection:
    """An EOS-like view whose detector covers the grid's magnified extent."""
    lateral_axis = 0 if view == "ap" else 1
    extent = grid.shape[lateral_axis] * grid.spacing[lateral_axis]
    magnification = config.source_to_detector_mm / (config.source_to_isocentre_mm - 0.5 * extent)
    pixel = config.radiograph_pixel_mm
    width = int(np.ceil(extent * magnification / pixel))
    height = int(np.ceil(grid.shape[2] * grid.spacing[2] / pixel))
    return SlotScanProjection(
        view=view,
        pixel_mm=(pixel, pixel),
        shape=(width, height),
        source_to_detector_mm=config.source_to_detector_mm,
        source_to_isocentre_mm=config.source_to_isocentre_mm,
        isocentre=tuple(isocentre),
    )


def make_study(
    seed: int, config: StudyConfig = StudyConfig(), device="cpu", scoliotic: bool | None = None, posture: bool | None = None
) -> Study:
    """Render study ``seed``: shape, body, anatomy, CT, DXA, MRI, AP and lateral, masks and truth.

    Args:
        seed: the study's seed (the only source of randomness).
        config: rendering settings.
        device: torch device for the volumes.
        scoliotic: force a structural scoliosis (True) or none (False); drawn from the population if None.
        posture: force a non-rigid MRI posture change (True) or none (False); drawn with
            ``config.posture_share`` if None.
    """
    rng = np.random.default_rng(seed)
    generator = torch.Generator(device=device).manual_seed(int(rng.integers(2**62)))
    body = sample_body(rng)
    shape = sample_shape(rng, spine_length_mm(body.scale), level_spans(), config.population, scoliotic)
    line_fine = shape_centre_line(shape, n_points=FINE_LINE_POINTS)
    anatomy = build_anatomy(line_fine, body, lambda z: axial_rotation_deg(shape, z / shape.length_mm), rng)
    grid = _study_grid(anatomy, shape.length_mm, config.ct_spacing_mm)
    raster = rasterise(anatomy, grid, device)
    tissue = Tissue.sample(generator)
    fine = _column_grid(line_fine, config.column_spacing_mm)
    column = rasterise_column(anatomy, fine, device)

    ct = render_ct(raster.fractions, grid, generator, tissue=tissue)
    dxa = render_dxa(raster.fractions, grid, generator, pixel_mm=config.dxa_pixel_for(seed), tissue=tissue,
                     anatomy=anatomy if config.dxa_whole_body else None)
    dxa_mask = project_mask_parallel(column, fine, dxa)

    with_posture = bool(rng.random() < config.posture_share) if posture is None else posture
    middle = 0.5 * shape.length_mm
    pose = MriPose.sample(generator, config.mri_max_rotation_deg, config.mri_max_translation_mm, (0.0, middle))
    bend = MriPosture.sample(generator, start_z_mm=0.6 * shape.length_mm, end_z_mm=shape.length_mm)
    mri = render_mri(raster.fractions, raster.spine_mask, grid, generator, pose, bend if with_posture else MriPosture(),
                     tissue=tissue)

    mu = attenuation(raster.fractions, "radiograph", tissue)
    isocentre = (0.0, 0.0, middle)
    views = {}
    for view in ("ap", "lateral"):
        geometry = _slot_scan(view, grid, config, isocentre)
        exposure = 0.6 + float(torch.rand(1, generator=generator, device=generator.device, dtype=torch.float64))
        image = radiograph(render_drr(mu, grid, geometry), geometry.pixel_mm, photons=2e4, exposure=exposure,
                           blur_mm=0.6, generator=generator)
        views[view] = (image, geometry, radiograph_mask(column, fine, geometry))

    line = shape_centre_line(shape)
    edge = slice_points(column, fine)
    dxa_coronal = projected_curves(edge, lambda p: p[:, [0, 2]] - np.asarray(dxa.origin_mm))
    dxa_sagittal = projected_curves(edge, lambda p: p[:, [1, 2]] - (0.0, dxa.origin_mm[1]))
    ap_geometry, lateral_geometry = views["ap"][1], views["lateral"][1]
    mri_origin = np.asarray(mri.grid.origin)
    in_mri = lambda p: mri.phantom_to_mri(p) - mri_origin  # noqa: E731  (MRI volume frame, mm)
    truth_curves = {
        "dxa": spine_curves_from_views(dxa_coronal, dxa_sagittal).with_relative_depth(),
        "ap": projected_curves(edge, ap_geometry.project_mm),
        "lateral": projected_curves(edge, lateral_geometry.project_mm),
        "ct": curves_from_volume(raster.spine_mask.cpu().numpy(), grid.spacing).curves,
        "mri": spine_curves_from_views(
            projected_curves(edge, lambda p: in_mri(p)[:, [0, 2]]),
            projected_curves(edge, lambda p: in_mri(p)[:, [1, 2]]),
        ),
    }
    phantom_curves = SpineCurves(line[:, [0, 2]], line[:, [0, 2]], line[:, [0, 2]], line[:, [1, 2]],
                                 line[:, [1, 2]], line[:, [1, 2]])
    return Study(
        seed=seed, shape=shape, anatomy=anatomy, grid=grid, raster=raster, ct=ct, dxa=dxa, dxa_mask=dxa_mask,
        mri=mri, ap=views["ap"][0], lateral=views["lateral"][0], ap_geometry=ap_geometry,
        lateral_geometry=lateral_geometry, ap_mask=views["ap"][2], lateral_mask=views["lateral"][2],
        centre_line=line, truth_curves=truth_curves, measures=measure_spine(phantom_curves),
    )
