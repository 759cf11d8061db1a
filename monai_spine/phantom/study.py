"""One synthetic study: a sampled spine and body rendered as CT, MRI, DXA, AP and lateral, with exact truth.

Everything is drawn from one seed, so a study is reproducible on the same device; see ``docs/phantom.md``. Only the
modalities asked for are rendered, each with its masks and truth; a study's images do not depend on which others
are rendered beside them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch

from monai_spine.geometry import SpineCurves, curves_from_volume, spine_curves_from_views
from monai_spine.geometry.extract import BoundaryCurves
from monai_spine.geometry.grid import Grid
from monai_spine.measures import measure_spine
from monai_spine.projection import SlotScanProjection, radiograph_mask
from monai_spine.studies import MODALITIES

from .anatomy import Anatomy, build_anatomy, level_spans, sample_body, spine_length_mm
from .anatomy.body import VERTEBRAL_BODY_RANGES
from .materials import Tissue, attenuation
from .raster import Raster, rasterise, rasterise_column
from .render.ct import render_ct, skip_ct_draws
from .render.dxa import PIXEL_MM_RANGE, DxaImage, project_mask_parallel, render_dxa, skip_dxa_draws
from .render.mri import MriPose, MriPosture, MriVolumes, render_mri, skip_mri_draws
from .render.radiograph import render_radiograph, slot_scan
from .shape import (
    LORDOSIS_SKEW_RANGE,
    PopulationModel,
    SpineShape,
    axial_rotation_deg,
    sample_shape,
    shape_centre_line,
)
from .truth import SlicePoints, projected_curves, slice_points

__all__ = ["StudyConfig", "RADIOGRAPH_BONE_SCALE_RANGE", "CtRender", "DxaRender", "MriRender", "RadiographRender",
           "Study", "make_study"]

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
        soft_tissue: abdominal organs, bowel gas, breasts and foreign objects in the phantom
            (``docs/phantom_anatomy.md``). Off by default until the shipped segmentation weights have been trained
            on them: the MRI bundle's Dice on a test study falls from 0.93 to 0.59 with them (the kidneys in their
            fat beside the spine).
        vertebral_body_width, vertebral_body_depth: factors on every vertebral body's endplate width and depth
            beyond the skeletal scale (``Body``), or a ``(low, high)`` range to draw each study's from (uniformly,
            from the study's seed): bodies broad or deep for the skeleton around them, for training data
            (``docs/phantom_anatomy.md``). 1: the reference proportions.
        vertebral_body_posterior_exponent: superellipse exponent of every vertebral body's axial section behind its
            centre (``Body``), or a ``(low, high)`` range to draw each study's from (the same stream): 2, elliptic
            (the phantom as before); 4, a flat posterior wall with full posterolateral corners, as lumbar bodies have.
        radiograph_bone_scale: share of bone's attenuation above soft tissue's kept in the AP and lateral
            (``materials.attenuation``'s ``bone_scale``), or a ``(low, high)`` range to draw each study's from (its
            own stream): bones as faint as a large, osteoporotic patient's, for training data. 1: the phantom's own
            bone; the CT, DXA and MRI keep it.
        lordosis_skew: ``SpineShape.lordosis_skew``, or a ``(low, high)`` range to draw each study's from (its own
            stream): how far the lordosis's turn lies toward S1. 1 (default): a symmetric lordosis, 35 % of it in
            L4–S1; 2: 72 %; 1.5–2.5 spans 57–83 % about adults' two thirds (``docs/phantom_anatomy.md``), as the curve
            regressor's training data since 0.6.
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
    soft_tissue: bool = False
    vertebral_body_width: float | tuple[float, float] = 1.0
    vertebral_body_depth: float | tuple[float, float] = 1.0
    vertebral_body_posterior_exponent: float | tuple[float, float] = 2.0
    radiograph_bone_scale: float | tuple[float, float] = 1.0
    lordosis_skew: float | tuple[float, float] = 1.0

    def __post_init__(self):
        for name in ("ct_spacing_mm", "column_spacing_mm", "radiograph_pixel_mm"):
            if not 0.2 <= getattr(self, name) <= 5.0:
                raise ValueError(f"{name} must be in [0.2, 5] mm, got {getattr(self, name)}.")
        limits = {"dxa_pixel_mm": PIXEL_MM_RANGE, "radiograph_bone_scale": RADIOGRAPH_BONE_SCALE_RANGE,
                  "lordosis_skew": LORDOSIS_SKEW_RANGE, **VERTEBRAL_BODY_RANGES}
        for name, (least, most) in limits.items():
            low, high = _range(getattr(self, name))
            if not least <= low <= high <= most:
                raise ValueError(f"{name} must lie in {(least, most)}, got {getattr(self, name)}.")
        if not 0.0 <= self.posture_share <= 1.0:
            raise ValueError(f"posture_share must be in [0, 1], got {self.posture_share}.")
        if not 0.0 < self.source_to_isocentre_mm < self.source_to_detector_mm:
            raise ValueError("source_to_isocentre_mm must be positive and below source_to_detector_mm.")

    def dxa_pixel_for(self, seed: int) -> float:
        """Study ``seed``'s DXA pixel spacing, mm: drawn from its own stream, so other draws are unchanged."""
        return _drawn(self.dxa_pixel_mm, seed, 1)

    def vertebral_bodies_for(self, seed: int) -> dict[str, float]:
        """Study ``seed``'s ``Body.vertebral_body_width``, ``vertebral_body_depth`` and
        ``vertebral_body_posterior_exponent``, in that order: drawn from their own stream, so other draws are
        unchanged."""
        rng = np.random.default_rng([seed, 2])
        return {name: float(rng.uniform(*_range(getattr(self, name)))) for name in VERTEBRAL_BODY_RANGES}

    def radiograph_bone_scale_for(self, seed: int) -> float:
        """Study ``seed``'s bone contrast in the AP and lateral (``attenuation``'s ``bone_scale``): drawn from its own
        stream, so other draws are unchanged."""
        return _drawn(self.radiograph_bone_scale, seed, 3)

    def lordosis_skew_for(self, seed: int) -> float:
        """Study ``seed``'s ``SpineShape.lordosis_skew``: drawn from its own stream, so other draws are unchanged."""
        return _drawn(self.lordosis_skew, seed, 4)


RADIOGRAPH_BONE_SCALE_RANGE = (0.1, 1.5)
"""Allowed range of ``StudyConfig.radiograph_bone_scale``."""


def _range(value: float | tuple[float, float]) -> tuple[float, float]:
    """``(low, high)`` of a value or a range."""
    low, high = np.broadcast_to(np.asarray(value, dtype=float), (2,))
    return float(low), float(high)


def _drawn(value: float | tuple[float, float], seed: int, stream: int) -> float:
    """A value, or study ``seed``'s uniform draw from a ``(low, high)`` range on its own ``stream``."""
    low, high = _range(value)
    return low if low == high else float(np.random.default_rng([seed, stream]).uniform(low, high))


GRID_ABOVE_BASION_MM = 2.0
"""The study grid's top lies this far above the skull base (basion): the cervical spine, the mandible and the neck
are rasterised, the skull above is the whole-body DXA's analytic head (``extremities.py``)."""


def _study_grid(anatomy: Anatomy, length_mm: float, spacing: float) -> Grid:
    """A grid around the torso, from just above the skull base (:data:`GRID_ABOVE_BASION_MM`) to 220 mm below the
    top of S1 (hips, femoral heads)."""
    torso = anatomy.torso
    half_width = float(np.max(np.abs(torso.centre_x) + torso.half_width))
    top = float(anatomy.neck.basion[2]) - GRID_ABOVE_BASION_MM if anatomy.neck is not None else -60.0
    low = (-half_width - 5.0, float(np.min(torso.centre_y - torso.half_depth)) - 5.0, top)
    high = (half_width + 5.0, float(np.max(torso.centre_y + torso.half_depth)) + 5.0, length_mm + 220.0)
    return Grid.covering(low, high, (spacing,) * 3)


def _column_grid(anatomy: Anatomy, line: np.ndarray, spacing: float) -> Grid:
    """A grid hugging the spine column: the centre line's box widened by 45 mm across and 5 mm at the ends, grown
    to hold the corners of every vertebral body (C2…C6 lie above the line, the S1 body below its end) with 5 mm to
    spare."""
    unit = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)])
    corners = np.concatenate([
        v.to_world(unit * 0.5 * np.array([v.dims.endplate_width, v.dims.endplate_depth, v.dims.body_height]))
        for v in anatomy.vertebrae if v.has_body
    ])
    low = np.minimum(line.min(axis=0) - (45.0, 45.0, 5.0), corners.min(axis=0) - 5.0)
    high = np.maximum(line.max(axis=0) + (45.0, 45.0, 5.0), corners.max(axis=0) + 5.0)
    return Grid.covering(low, high, (spacing,) * 3)


@dataclass(frozen=True)
class CtRender:
    """The CT: ``hu`` ``(X, Y, Z)`` HU, ``vertebra_labels`` and ``mask`` (spine column) on ``grid`` (the study's
    grid); ``truth`` the six curves in the CT volume frame, mm."""

    hu: torch.Tensor
    vertebra_labels: torch.Tensor
    mask: torch.Tensor
    grid: Grid
    truth: SpineCurves


@dataclass(frozen=True)
class DxaRender:
    """The DXA: ``image`` (bone and soft images and their pixel grid), ``mask`` ``(W, H)`` spine column, ``truth``
    the six curves in the DXA image frame, mm."""

    image: DxaImage
    mask: torch.Tensor
    truth: SpineCurves


@dataclass(frozen=True)
class MriRender:
    """The MRI: ``volumes`` (Dixon images, spine mask, grid, pose and posture), ``truth`` the six curves in the MRI
    volume frame, mm."""

    volumes: MriVolumes
    truth: SpineCurves


@dataclass(frozen=True)
class RadiographRender:
    """An AP or lateral radiograph: ``image`` and ``mask`` ``(W, H)``, ``geometry``, ``truth`` (the view's centre
    and boundary curves in the image frame, mm)."""

    image: torch.Tensor
    mask: torch.Tensor
    geometry: SlotScanProjection
    truth: BoundaryCurves


@dataclass
class Study:
    """A rendered study in memory; images are torch tensors on the rendering device, truth in numpy.

    ``ct``, ``dxa``, ``mri``, ``ap`` and ``lateral`` are the rendered images with their masks and truth curves
    (``docs/phantom.md``), ``None`` where not rendered; ``raster`` is the phantom on ``grid`` they were rendered from,
    ``centre_line`` ``(209, 3)`` the spine's centre line in the phantom frame, mm, and ``measures`` its measures;
    ``radiograph_bone_scale`` the AP and lateral's ``StudyConfig.radiograph_bone_scale`` draw (``None`` where they
    were not rendered).
    """

    seed: int
    shape: SpineShape
    anatomy: Anatomy
    grid: Grid
    raster: Raster
    centre_line: np.ndarray
    measures: dict
    ct: CtRender | None = None
    dxa: DxaRender | None = None
    mri: MriRender | None = None
    ap: RadiographRender | None = None
    lateral: RadiographRender | None = None
    radiograph_bone_scale: float | None = None

    @property
    def scoliotic(self) -> bool:
        return self.shape.cobb_deg >= 10.0

    @property
    def rendered(self) -> tuple[str, ...]:
        """The modality groups (:data:`~monai_spine.studies.MODALITIES`) this study holds."""
        parts = {"ct": self.ct, "mri": self.mri, "dxa": self.dxa, "biplanar": self.ap}
        return tuple(group for group in MODALITIES if parts[group] is not None)


def _check_modalities(modalities) -> None:
    if not modalities or set(modalities) - set(MODALITIES):
        raise ValueError(f"modalities must be a non-empty subset of {MODALITIES}, got {list(modalities)}.")


def _render_dxa(study: Study, column: torch.Tensor, fine: Grid, edge: SlicePoints, config: StudyConfig,
                generator: torch.Generator, tissue: Tissue) -> DxaRender:
    image = render_dxa(study.raster.fractions, study.grid, generator, pixel_mm=config.dxa_pixel_for(study.seed),
                       tissue=tissue, anatomy=study.anatomy if config.dxa_whole_body else None)
    coronal = projected_curves(edge, lambda p: p[:, [0, 2]] - np.asarray(image.origin_mm))
    sagittal = projected_curves(edge, lambda p: p[:, [1, 2]] - (0.0, image.origin_mm[1]))
    truth = spine_curves_from_views(coronal, sagittal).with_relative_depth()
    return DxaRender(image, project_mask_parallel(column, fine, image), truth)


def _render_mri(study: Study, edge: SlicePoints, pose: MriPose, posture: MriPosture, generator: torch.Generator,
                tissue: Tissue) -> MriRender:
    volumes = render_mri(study.raster.fractions, study.raster.spine_mask, study.grid, generator, pose, posture,
                         tissue=tissue)
    origin = np.asarray(volumes.grid.origin)
    in_mri = lambda p: volumes.phantom_to_mri(p) - origin  # noqa: E731  (MRI volume frame, mm)
    truth = spine_curves_from_views(projected_curves(edge, lambda p: in_mri(p)[:, [0, 2]]),
                                    projected_curves(edge, lambda p: in_mri(p)[:, [1, 2]]))
    return MriRender(volumes, truth)


def _render_views(study: Study, column: torch.Tensor, fine: Grid, edge: SlicePoints, config: StudyConfig,
                  generator: torch.Generator, tissue: Tissue) -> dict[str, RadiographRender]:
    mu = attenuation(study.raster.fractions, "radiograph", tissue, study.radiograph_bone_scale)
    views = {}
    for view in ("ap", "lateral"):
        geometry = slot_scan(view, study.grid, config.radiograph_pixel_mm, config.source_to_detector_mm,
                             config.source_to_isocentre_mm, (0.0, 0.0, 0.5 * study.shape.length_mm))
        mask = radiograph_mask(column, fine, geometry)
        image = render_radiograph(mu, study.grid, geometry, mask, generator)
        views[view] = RadiographRender(image, mask, geometry, projected_curves(edge, geometry.project_mm))
    return views


def make_study(
    seed: int,
    config: StudyConfig = StudyConfig(),
    device="cpu",
    scoliotic: bool | None = None,
    posture: bool | None = None,
    modalities=MODALITIES,
) -> Study:
    """Render study ``seed``: shape, body, anatomy, and the ``modalities`` asked for with their masks and truth.

    A modality not asked for is neither rendered nor given truth; its random draws are skipped past when a later
    one is rendered, so every image is the one a study rendering all modalities has.

    Args:
        seed: the study's seed (the only source of randomness).
        config: rendering settings.
        device: torch device for the volumes.
        scoliotic: force a structural scoliosis (True) or none (False); drawn from the population if None.
        posture: force a non-rigid MRI posture change (True) or none (False); drawn with
            ``config.posture_share`` if None.
        modalities: groups of :data:`~monai_spine.studies.MODALITIES` to render (``biplanar``: AP and lateral).
    """
    _check_modalities(modalities)
    wanted = set(modalities)
    rng = np.random.default_rng(seed)
    generator = torch.Generator(device=device).manual_seed(int(rng.integers(2**62)))
    body = replace(sample_body(rng), **config.vertebral_bodies_for(seed))
    shape = replace(sample_shape(rng, spine_length_mm(body.scale), level_spans(), config.population, scoliotic),
                    lordosis_skew=config.lordosis_skew_for(seed))
    line_fine = shape_centre_line(shape, n_points=FINE_LINE_POINTS)
    anatomy = build_anatomy(line_fine, body, lambda z: axial_rotation_deg(shape, z / shape.length_mm), rng,
                            soft_tissue=config.soft_tissue)
    with_posture = bool(rng.random() < config.posture_share) if posture is None else posture
    grid = _study_grid(anatomy, shape.length_mm, config.ct_spacing_mm)
    line = shape_centre_line(shape)
    study = Study(seed=seed, shape=shape, anatomy=anatomy, grid=grid, raster=rasterise(anatomy, grid, device),
                  centre_line=line, measures=measure_spine(SpineCurves(*[line[:, [0, 2]]] * 3, *[line[:, [1, 2]]] * 3)))
    tissue = Tissue.sample(generator)
    fine = _column_grid(anatomy, line_fine, config.column_spacing_mm)
    column = rasterise_column(anatomy, fine, device) if wanted - {"ct"} else None
    edge = slice_points(column, fine) if column is not None else None

    if "ct" in wanted:
        truth = curves_from_volume(study.raster.spine_mask.cpu().numpy(), grid.spacing).curves
        study.ct = CtRender(render_ct(study.raster.fractions, grid, generator, tissue=tissue),
                            study.raster.vertebra_labels, study.raster.spine_mask, grid, truth)
    elif wanted - {"ct"}:
        skip_ct_draws(generator, grid)
    if "dxa" in wanted:
        study.dxa = _render_dxa(study, column, fine, edge, config, generator, tissue)
    elif wanted & {"mri", "biplanar"}:
        skip_dxa_draws(generator, grid, config.dxa_pixel_for(seed), anatomy if config.dxa_whole_body else None)
    if wanted & {"mri", "biplanar"}:
        pose = MriPose.sample(generator, config.mri_max_rotation_deg, config.mri_max_translation_mm,
                              (0.0, 0.5 * shape.length_mm))
        bend = MriPosture.sample(generator, start_z_mm=0.6 * shape.length_mm, end_z_mm=shape.length_mm)
        mri_posture = bend if with_posture else MriPosture()
        if "mri" in wanted:
            study.mri = _render_mri(study, edge, pose, mri_posture, generator, tissue)
        else:
            skip_mri_draws(generator, grid, pose, mri_posture)
    if "biplanar" in wanted:
        study.radiograph_bone_scale = config.radiograph_bone_scale_for(seed)
        views = _render_views(study, column, fine, edge, config, generator, tissue)
        study.ap, study.lateral = views["ap"], views["lateral"]
    return study
