"""Two-stage rigid 2D alignment of an MRI to a coronal DXA, set along the spine by the discs (stage 3,
:mod:`.discs`), with quality control (``docs/alignment.md``).

Frames (``docs/frames.md``): the DXA frame is the DXA's coronal image frame; the **MRI coronal frame** is
``(x, z)`` of the MRI volume in the patient volume frame (``LAI``), ``index × spacing`` mm. The result's matrix
maps the MRI coronal frame to the DXA frame (``alignment.json``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk
from monai.data.utils import affine_to_spacing

from monai_spine.errors import SpineInputError
from monai_spine.geometry.profile import MAX_RAGGED_JUMPS_PER_100MM, RAGGED_JUMP_MM, ragged_mask_warning
from monai_spine.io.files import as_plain

from .coronal import coronal_mask_projection, crop_to_mask, to_array, to_image
from .discs import DiscStage, disc_stage
from .image_stage import ImageStage, blurred_map, refine_mutual_information, rotation_search
from .profile import mask_profile, match_profiles
from .qc import DEVIATION_WINDOW_MM, aligned_mask, centre_line_deviation, mask_iou, touches_edge
from .rigid import apply_matrix, rigid_matrix, rotation_deg
from .spine_stage import (
    MaskBoundary,
    SpineStage,
    boundary_points,
    closest_point_fit,
    outline_distance,
    shared_stretch,
)

__all__ = ["AlignmentConfig", "Alignment", "align_pair", "coronal_masks"]

END_AGREEMENT_LEVELS = 0.25
"""How near, in levels (the MRI's disc period), an end of the spine in both masks must agree at the height stage 3
gives for the discs to vouch for it (:func:`_discs_vouch`). On the real CT's renders (seeds 11, 13, 14, the
bundles' masks) the nearest such ends lie 0.3, 1.0 and 8.6 mm apart on three of the twelve poses stage 3 left
within 2 mm, 10.8–24.7 mm apart (the masks run into the sacrum by different amounts) or cut by an image's edge on
the other nine, and 34.4 mm apart or cut on the three it left a level or more off (``docs/alignment.md``)."""


@dataclass(frozen=True)
class AlignmentConfig:
    """Settings of :func:`align_pair`. Lengths in mm, angles in degrees.

    Args:
        max_angle_deg: the rotation search covers ``[−max_angle_deg, max_angle_deg]``.
        n_angles: angles sampled evenly in that range (both ends included).
        iou_threshold: the least IoU of the masks for an accepted alignment.
        max_rms_mm: the largest root-mean-square distance of the MRI spine outline to the DXA's after alignment
            for an accepted one: the same spine, rigidly moved, superimposes within the masks' pixel noise
            (0.65–0.8 mm on the phantom's exact masks), another person's spine does not (4.7–22 mm).
        max_centre_deviation_mm: the largest distance between the aligned centre lines
            (:func:`~monai_spine.registration.qc.centre_line_deviation`) for an accepted alignment: 1 mm or less
            for the same spine rigidly moved on the phantom, more than 1.5 mm once a posture change bends the lower
            spine by 5 mm or more (and for some bends of 3–5 mm).
        max_profile_residual_mm: the largest residual of the masks' row profiles (centre and width along the spine,
            :func:`~.profile.match_profiles`) for an accepted alignment: 1.4–1.5 mm for the same spine on the
            phantom's exact masks, 3.7–43 mm for another person (``docs/alignment.md``).
        search_pixel_mm: pixel size of the blurred masks in the rotation search (also the blur's σ).
        search_margin_mm: margin around each mask's box kept for both stages (wider than the blurs).
        mi_bins: histogram bins of the Mattes mutual information.
        mi_levels_mm, mi_smoothing_mm: the refinement's levels: the pixel size each works at (the DXA's pixels
            shrunk by a whole factor toward it) and its Gaussian smoothing σ, mm. Stage 2 does the finest work,
            so the last level need not go below 1 mm however fine the DXA.
        mi_iterations: the most optimiser iterations per level.
        mi_sampling: share of the DXA map's pixels sampled by the metric.
        mi_blur_mm: σ of the Gaussian blur of both masks for the refinement.
        icp_iterations: the most ICP rounds.
        icp_tolerance_mm: ICP stops when no key point moves more than this in a round.
        icp_trim_mm: ICP pairs farther apart than this are left out of the fit.
        max_spine_shift_mm: the along-the-spine search (:func:`~.profile.match_profiles`) tries shifts up to this,
            mm (about three vertebrae).
        end_mm: ends of the two masks this close count as the same end: the profiles leave out this much at each
            end, and ICP and the outline check keep an end only where both masks end within it, mm.
        ragged_jump_mm, max_ragged_jumps_per_100mm: a mask whose width changes by more than ``ragged_jump_mm`` between
            adjacent rows more often than ``max_ragged_jumps_per_100mm`` times per 100 mm of height is ragged
            (:meth:`monai_spine.geometry.profile.RowProfile.width_jumps_per_100mm`): a warning, and a rejected pair's
            reason says that a segmentation failure is then likelier than another person. The phantom's and the real
            CT's exact masks jump at most 3.6 times per 100 mm (coarse pixels, cervical spine), the MRI bundle's masks
            of the real CT 6–10 times, those of the phantom 2–6 (``docs/alignment.md``).
        shape_share: share of the shared rows (profile residual) and of the outline key points (outline RMS) the
            shape checks are taken over, those that agree best (1: all, the default). Below 1 the checks forgive
            a segmentation that errs over part of the column (a cervical spine segmented too wide, a mask that
            runs into the sacrum), but they also accept poses that such a mask has moved along the spine
            (``docs/alignment.md``: at 0.8, two of three segmented phantom pairs accepted 7–10 mm off), so it is
            off by default. The centre-line deviation is taken over all heights.
        disc_search_mm, disc_min_ncc, disc_min_swing, disc_min_periodicity: stage 3 (:mod:`.discs`, when
            :func:`align_pair` is given the images) searches shifts along the spine within half the MRI's level
            height (its disc profile's period), at most ``± disc_search_mm``, and applies the best where the MRI's
            disc profile repeats with a level's period (autocorrelation at least ``disc_min_periodicity``) and the
            discs' profiles correlate at least ``disc_min_ncc`` there and at least ``disc_min_swing`` more than at
            the search's worst shift.
    """

    max_angle_deg: float = 2.0
    n_angles: int = 10
    iou_threshold: float = 0.7
    max_rms_mm: float = 3.0
    max_centre_deviation_mm: float = 2.5
    max_profile_residual_mm: float = 3.0
    search_pixel_mm: float = 4.0
    search_margin_mm: float = 30.0
    mi_bins: int = 32
    mi_levels_mm: tuple[float, ...] = (4.0, 2.0, 1.0)
    mi_smoothing_mm: tuple[float, ...] = (2.0, 1.0, 0.0)
    mi_iterations: int = 100
    mi_sampling: float = 0.2
    mi_blur_mm: float = 2.0
    icp_iterations: int = 200
    icp_tolerance_mm: float = 0.01
    icp_trim_mm: float = 3.0
    max_spine_shift_mm: float = 100.0
    end_mm: float = 5.0
    shape_share: float = 1.0
    ragged_jump_mm: float = RAGGED_JUMP_MM
    max_ragged_jumps_per_100mm: float = MAX_RAGGED_JUMPS_PER_100MM
    disc_search_mm: float = 20.0
    disc_min_ncc: float = 0.3
    disc_min_swing: float = 0.6
    disc_min_periodicity: float = 0.65

    def __post_init__(self):
        if not self.max_angle_deg >= 0.0 or self.n_angles < 1:
            raise ValueError(f"need max_angle_deg >= 0 and n_angles >= 1, got {self.max_angle_deg}, {self.n_angles}.")
        if not 0.0 <= self.iou_threshold <= 1.0:
            raise ValueError(f"iou_threshold must be in [0, 1], got {self.iou_threshold}.")
        if self.mi_iterations < 1 or self.icp_iterations < 1:
            raise ValueError(f"need at least one iteration, got {self.mi_iterations}, {self.icp_iterations}.")
        if not 0.0 < self.shape_share <= 1.0:
            raise ValueError(f"shape_share must be in (0, 1], got {self.shape_share}.")
        if len(self.mi_levels_mm) != len(self.mi_smoothing_mm):
            raise ValueError("mi_levels_mm and mi_smoothing_mm need one value per level.")

    @property
    def angles_deg(self) -> np.ndarray:
        """The sampled angles, degrees."""
        return np.linspace(-self.max_angle_deg, self.max_angle_deg, self.n_angles)

    @property
    def angle_step_deg(self) -> float:
        """The spacing of the sampled angles (0 for one angle), degrees."""
        return 2.0 * self.max_angle_deg / (self.n_angles - 1) if self.n_angles > 1 else 0.0


@dataclass(frozen=True)
class Alignment:
    """An MRI ↔ DXA alignment and its verdict.

    Args:
        matrix_mri_to_dxa: 3×3 homogeneous, MRI coronal frame ``(x, z)`` mm → DXA frame ``(x, z)`` mm (stage 2's,
            or, where stage 3 applied, moved along the spine by it and refitted across at that height).
        iou: IoU of the DXA spine mask and the aligned, projected MRI spine mask over the heights both cover.
        centre_deviation_mm: the largest distance between the aligned spine centre lines, mm (``nan`` when they
            share less height than the comparison window).
        accepted: whether every check passed.
        iou_threshold: the IoU needed.
        reason: why it was rejected, checks joined by ``"; "``; ``""`` when accepted.
        image_stage: stage 1's result.
        spine_stage: stage 2's result.
        outline_rms_mm: the RMS distance of the MRI outline to the DXA's about their median at the final pose, on
            the stretch both show, mm (:func:`~.spine_stage.outline_distance`).
        profile_residual_mm: the residual of the masks' row profiles at the final pose, mm
            (:func:`~.profile.match_profiles` with no shift).
        warnings: what does not make the pose wrong but limits its use, e.g. a spine cut by an image's edge (the
            pose holds for the stretch both show; curve targets would cover part of the spine).
        disc_stage: stage 3's result, ``None`` when the images were not given.
        refit_stage: where stage 3 moved the pose along the spine, the outline fit run again at that height with
            the height held (rotation and lateral offset only; ``None`` when stage 3 did not apply).
    """

    matrix_mri_to_dxa: np.ndarray
    iou: float
    centre_deviation_mm: float
    accepted: bool
    iou_threshold: float
    reason: str
    image_stage: ImageStage
    spine_stage: SpineStage
    outline_rms_mm: float
    profile_residual_mm: float
    warnings: tuple[str, ...] = ()
    disc_stage: DiscStage | None = None
    refit_stage: SpineStage | None = None

    @property
    def rotation_deg(self) -> float:
        """Rotation of the matrix, degrees (+x toward +z: clockwise on a standard coronal display)."""
        return rotation_deg(self.matrix_mri_to_dxa)

    @property
    def translation_mm(self) -> tuple[float, float]:
        """``(tx, tz)``: the matrix's translation column, mm (where the MRI frame's origin lands in the DXA)."""
        return float(self.matrix_mri_to_dxa[0, 2]), float(self.matrix_mri_to_dxa[1, 2])

    def to_dict(self) -> dict:
        """``alignment.json`` (``docs/commands/align.md``, ``docs/alignment.md``); values that are not finite (a
        centre-line deviation with no common height, a failed metric) become ``null``."""
        return as_plain(
            {
                "matrix_mri_to_dxa": np.asarray(self.matrix_mri_to_dxa, dtype=float).tolist(),
                "rotation_deg": self.rotation_deg,
                "translation_mm": list(self.translation_mm),
                "iou": self.iou,
                "accepted": self.accepted,
                "iou_threshold": self.iou_threshold,
                "stages": {
                    "image": self.image_stage.to_dict(),
                    "spine": {**self.spine_stage.to_dict(), "centre_deviation_mm": self.centre_deviation_mm},
                    **({"discs": self.disc_stage.to_dict()} if self.disc_stage else {}),
                    **({"refit": self.refit_stage.to_dict()} if self.refit_stage else {}),
                },
                "outline_rms_mm": self.outline_rms_mm,
                "profile_residual_mm": self.profile_residual_mm,
                "reason": self.reason,
                "warnings": list(self.warnings),
            }
        )


def _source(image) -> str:
    return str(getattr(image, "meta", {}).get("filename_or_obj", "") or "mask")


def coronal_masks(dxa_mask, mri_mask) -> tuple[sitk.Image, sitk.Image]:
    """The two masks as 2D images on the DXA's pixel size: the DXA mask, and the MRI mask's coronal projection.

    Args:
        dxa_mask: ``MetaTensor`` ``(1, W, H)``, the DXA spine mask (``LoadRadiograph``), affine 3×3.
        mri_mask: ``MetaTensor`` ``(1, X, Y, Z)``, the MRI spine mask in the patient volume frame (``LoadVolume``).

    Returns:
        uint8 images in the DXA frame and in the MRI coronal frame, holes filled (a segmentation's holes are not
        the spine's shape).

    Raises:
        SpineInputError: a mask of the wrong dimension, or empty.
    """
    for mask, ndim, what in ((dxa_mask, 3, "a 2D (1, W, H) DXA"), (mri_mask, 4, "a 3D (1, X, Y, Z) MRI")):
        if mask.ndim != ndim or mask.shape[0] != 1:
            raise SpineInputError(_source(mask), f"expected {what} spine mask, got shape {tuple(mask.shape)}")
        if not bool((mask > 0).any()):
            raise SpineInputError(_source(mask), "the spine mask is empty")
    pixel_mm = affine_to_spacing(dxa_mask.affine, r=2).tolist()
    fixed = to_image(np.asarray(dxa_mask[0]) > 0, pixel_mm)
    mri_spacing = affine_to_spacing(mri_mask.affine, r=3).tolist()
    moving = coronal_mask_projection(np.asarray(mri_mask[0]), mri_spacing, pixel_mm)
    return sitk.BinaryFillhole(fixed), sitk.BinaryFillhole(moving)


def _image_stage(fixed: sitk.Image, moving: sitk.Image, config: AlignmentConfig) -> ImageStage:
    """Stage 1 on the two masks, each cropped to its box plus the margin (:mod:`.image_stage`): rotation search
    on blurred maps, Mattes MI on the masks blurred by ``config.mi_blur_mm``, then the shift along the spine that
    matches the masks' row profiles (:mod:`.profile`), which masks of different lengths need."""
    search, angle, peak = rotation_search(
        blurred_map(fixed, config.search_pixel_mm), blurred_map(moving, config.search_pixel_mm), config.angles_deg
    )
    blurred = [
        sitk.SmoothingRecursiveGaussian(sitk.Cast(mask, sitk.sitkFloat32), config.mi_blur_mm)
        for mask in (fixed, moving)
    ]
    pixel_mm = min(fixed.GetSpacing())
    shrink = [max(round(level / pixel_mm), 1) for level in config.mi_levels_mm]
    refined, metric, iterations = refine_mutual_information(
        *blurred, search, config.mi_bins, shrink, config.mi_smoothing_mm, config.mi_iterations, config.mi_sampling
    )
    padding = [0, int(np.ceil(config.max_spine_shift_mm / fixed.GetSpacing()[1]))]
    reference = sitk.ConstantPad(fixed, padding, padding)
    match = match_profiles(mask_profile(reference, config.end_mm),
                           mask_profile(aligned_mask(reference, moving, refined), config.end_mm),
                           config.max_spine_shift_mm, share=config.shape_share)
    matrix = rigid_matrix(0.0, match.shift_mm) @ refined
    return ImageStage(matrix, angle, tuple(search[:2, 2].tolist()), peak, metric, iterations, match)


def _field_warnings(dxa_mask, mri_mask) -> tuple[str, ...]:
    """A spine cut by an image's edge: the masks end there, not the spine (a warning: the shared stretch aligns)."""
    cut = [("MRI spine mask reaches the edge of the MRI field of view", mri_mask),
           ("DXA spine mask reaches the edge of the DXA image", dxa_mask)]
    return tuple(f"the {what} (spine cut off)" for what, mask in cut if touches_edge(np.asarray(mask[0])))


def _cut_ends(dxa_mask, mri_mask) -> tuple[bool, bool]:
    """Whether a mask reaches its image's edge at the top and at the bottom (rows of the DXA, slices of the MRI)."""
    masks = (np.asarray(dxa_mask[0]) > 0, np.asarray(mri_mask[0]) > 0)
    return any(bool(mask[..., 0].any()) for mask in masks), any(bool(mask[..., -1].any()) for mask in masks)


def _end_gaps(fixed_outline: np.ndarray, moving_outline: np.ndarray, cut_ends: tuple[bool, bool]) -> list[float]:
    """How far apart the two outlines (DXA frame, ``(N, 2)`` mm) end at the top and at the bottom, mm; ``inf`` where
    a mask reaches its image's edge there (``cut_ends``, :func:`_cut_ends`: a cut by the field of view is no end of
    the spine)."""
    fixed_z, moving_z = fixed_outline[:, 1], moving_outline[:, 1]
    ends = ((fixed_z.min(), moving_z.min()), (fixed_z.max(), moving_z.max()))
    return [float("inf") if cut else float(abs(fixed - moving)) for cut, (fixed, moving) in zip(cut_ends, ends)]


def _ragged_masks(fixed: sitk.Image, moving: sitk.Image, config: AlignmentConfig) -> dict[str, str]:
    """``{"DXA" or "MRI": warning}`` for the coronal masks with ragged sides (a segmentation that broke up)."""
    warnings = {name: ragged_mask_warning(name, to_array(mask), mask.GetSpacing(), config.end_mm,
                                          config.ragged_jump_mm, config.max_ragged_jumps_per_100mm)
                for name, mask in (("DXA", fixed), ("MRI", moving))}
    return {name: warning for name, warning in warnings.items() if warning}


def _discs_vouch(discs: DiscStage, end_gaps: list[float], shape: list[tuple[str, str]]
                 ) -> tuple[list[tuple[str, str]], tuple[str, ...]]:
    """``(shape findings that still reject, warnings)`` once stage 3 has moved the pose along the spine.

    The masks' outline and profile checks guard the height, which segmented masks (ends that differ, widths that
    differ by side) leave open and the discs then fix. The discs repeat every level, so the height they give is
    trusted only where an end of the spine in both masks (the top or the bottom, not a cut by an image's edge:
    ``end_gaps`` from :func:`_end_gaps`) agrees with it within :data:`END_AGREEMENT_LEVELS` of the MRI's level: the
    masks' shape findings are then the masks' own disagreement, warnings. Otherwise the discs may be matched a
    level off, and the findings reject as before.
    """
    tolerance = END_AGREEMENT_LEVELS * discs.period_mm
    if min(end_gaps) <= tolerance:
        return [], tuple(f"{measure}: the discs and an end of the spine fixed the height, so taken as the masks' "
                         "own disagreement (a segmentation that errs), not another spine" for measure, _ in shape)
    return shape, (f"the discs were lined up, but no end of the spine in both masks (not cut by an image's edge) "
                   f"agrees there within {tolerance:.1f} mm: they may be matched a level off, so the masks' shapes "
                   "still decide",)


def _shape_findings(rms: float, residual: float, config: AlignmentConfig) -> list[tuple[str, str]]:
    """``(measure, what it suggests)`` of each of the masks' outline RMS and profile residual at the final pose
    that exceeds its threshold (empty when both pass)."""
    findings = []
    if rms > config.max_rms_mm:
        findings.append((f"the spine outlines stay {rms:.2f} mm apart (RMS) after alignment, more than "
                         f"{config.max_rms_mm:g} mm", "the spines differ in shape (another person?)"))
    if not np.isfinite(residual):
        findings.append(("the masks share too little height to match their shapes along the spine", ""))
    elif residual > config.max_profile_residual_mm:
        findings.append((f"the masks' centre and width along the spine differ by {residual:.2f} mm (RMS), more than "
                         f"{config.max_profile_residual_mm:g} mm",
                         "the spines differ in shape (another person? a posture change?)"))
    return findings


def _review(matrix: np.ndarray, spine: SpineStage, iou: float, shape: list[tuple[str, str]], deviation: float,
            config: AlignmentConfig) -> list[str]:
    """Reasons to reject the final pose ``matrix``, in the order a reader should look at them: its IoU, the
    masks' shape findings (:func:`_shape_findings`, those that count) and centre-line deviation, and whether the
    outline fit converged."""
    reasons = []
    rotation = rotation_deg(matrix)
    if abs(rotation) > config.max_angle_deg + config.angle_step_deg:
        reasons.append(f"rotation {rotation:.2f}° is outside the searched ±{config.max_angle_deg:g}°")
    if not spine.converged:
        reasons.append(f"the spine-level fit did not converge in {spine.iterations} iterations")
    if iou < config.iou_threshold:
        reasons.append(f"IoU {iou:.3f} is below the threshold {config.iou_threshold:g}")
    reasons += [f"{measure}: {suggests}" if suggests else measure for measure, suggests in shape]
    if not np.isfinite(deviation):
        reasons.append(
            f"the aligned spines share less than {DEVIATION_WINDOW_MM:g} mm of height: their centre lines cannot "
            "be compared"
        )
    elif deviation > config.max_centre_deviation_mm:
        reasons.append(
            f"the aligned centre lines are up to {deviation:.2f} mm apart, more than "
            f"{config.max_centre_deviation_mm:g} mm: the spine bends differently (posture change?)"
        )
    return reasons


def _shared_points(fixed_outline: np.ndarray, outline: np.ndarray, matrix: np.ndarray, config: AlignmentConfig
                   ) -> np.ndarray:
    """The MRI outline's points (MRI coronal frame, ``(N, 2)`` mm) on the stretch both outlines show when placed by
    ``matrix`` (:func:`~.spine_stage.shared_stretch`); all of them when fewer than three are."""
    shared = shared_stretch(fixed_outline, apply_matrix(matrix, outline), config.end_mm)
    return outline[shared] if np.count_nonzero(shared) >= 3 else outline


def _profile_residual(fixed: sitk.Image, moving: sitk.Image, matrix: np.ndarray, config: AlignmentConfig) -> float:
    """The residual of the masks' row profiles (:func:`~.profile.match_profiles`) at ``matrix``, with no shift, mm."""
    aligned = aligned_mask(fixed, moving, matrix)
    return match_profiles(mask_profile(fixed, config.end_mm), mask_profile(aligned, config.end_mm), 0.0,
                          share=config.shape_share).residual_mm


def align_pair(dxa_mask, mri_mask, config: AlignmentConfig = AlignmentConfig(), dxa_image=None,
               mri_image=None) -> Alignment:
    """Align an MRI to a coronal DXA through their spine masks (and their discs, given the images), and check the
    result.

    Stage 1 (image level) finds the rotation in ``±config.max_angle_deg`` and any translation by FFT
    cross-correlation of the blurred masks, refines it with Mattes mutual information and sets the height by
    matching the masks' centre and width along the spine (masks of different lengths); stage 2 (spine level)
    refines it by ICP between the mask outlines on the stretch both show. The pair is rejected (a result, not an
    error) when, at the final pose, the IoU is below ``config.iou_threshold``, the outlines or the shapes along
    the spine do not superimpose, the centre lines bend apart, the rotation leaves the searched range, or the fit
    does not converge. A mask cut by its image's edge is a warning (``Alignment.warnings``), not a rejection:
    the pose is found on the stretch both masks show (a CT-derived pair is cut where the CT ends). Given both
    images, stage 3 (:func:`~.discs.disc_stage`) then moves the pose along the spine to line up the discs both
    images show, where no end of the spine fixes the height (the masks end apart, or at an image's edge) and the
    discs' pattern stands out, before the checks.

    Args:
        dxa_mask: ``MetaTensor`` ``(1, W, H)``: the DXA's spine mask as ``LoadRadiograph`` loads it (coronal image
            frame, affine ``diag(column spacing, row spacing, 1)``); foreground ``> 0``.
        mri_mask: ``MetaTensor`` ``(1, X, Y, Z)``: the MRI's 3D spine mask as ``LoadVolume`` loads it (``LAI``).
        config: settings.
        dxa_image, mri_image: the DXA ``(1, W, H)`` and the MRI ``(1, X, Y, Z)`` on their masks' grids, for
            stage 3; without both, stage 3 is left out.

    Returns:
        :class:`Alignment`.

    Raises:
        SpineInputError: a mask of the wrong dimension, or empty (named by its ``filename_or_obj``).
    """
    fixed, moving = coronal_masks(dxa_mask, mri_mask)
    fixed_crop, moving_crop = (crop_to_mask(mask, config.search_margin_mm) for mask in (fixed, moving))
    first = _image_stage(fixed_crop, moving_crop, config)
    outline, fixed_outline = boundary_points(moving_crop), boundary_points(fixed_crop)
    boundary = MaskBoundary(fixed_crop)
    second = closest_point_fit(boundary, _shared_points(fixed_outline, outline, first.matrix_mri_to_dxa, config),
                               first.matrix_mri_to_dxa, config.icp_iterations,
                               config.icp_tolerance_mm, config.icp_trim_mm, config.shape_share)
    discs = None
    if dxa_image is not None and mri_image is not None:
        cut_ends = _cut_ends(dxa_mask, mri_mask)
        height_open = min(_end_gaps(fixed_outline, apply_matrix(second.matrix_mri_to_dxa, outline),
                                    cut_ends)) > config.end_mm  # no end of the spine fixes the height
        discs = disc_stage(dxa_image, dxa_mask, mri_image, mri_mask, second.matrix_mri_to_dxa, height_open,
                           config.disc_search_mm, config.disc_min_ncc, config.disc_min_swing,
                           config.disc_min_periodicity)
    refit = None
    if discs is not None and discs.applied:  # at the discs' height the outlines pair anew: refit across, height held
        refit = closest_point_fit(boundary, _shared_points(fixed_outline, outline, discs.matrix_mri_to_dxa, config),
                                  discs.matrix_mri_to_dxa, config.icp_iterations, config.icp_tolerance_mm,
                                  config.icp_trim_mm, config.shape_share, along_spine=False)
    fit = refit or second
    matrix = fit.matrix_mri_to_dxa
    iou = mask_iou(fixed, moving, matrix)
    deviation = centre_line_deviation(fixed_crop, moving_crop, matrix)
    rms = outline_distance(boundary, _shared_points(fixed_outline, outline, matrix, config), matrix,
                           config.shape_share)[0]
    residual = _profile_residual(fixed_crop, moving_crop, matrix, config)
    shape, shape_warnings = _shape_findings(rms, residual, config), ()
    if refit:
        shape, shape_warnings = _discs_vouch(discs, _end_gaps(fixed_outline, apply_matrix(matrix, outline), cut_ends),
                                             shape)
    reasons = _review(matrix, fit, iou, shape, deviation, config)
    ragged = _ragged_masks(fixed, moving, config)
    if reasons and ragged:  # an imperfect mask, not necessarily another spine: say which to suspect first
        reasons.append(f"the {' and '.join(ragged)} spine mask{'s are' if len(ragged) > 1 else ' is'} ragged: a "
                       "segmentation failure is likelier than another person; check the masks")
    warnings = _field_warnings(dxa_mask, mri_mask) + tuple(ragged.values()) + shape_warnings
    return Alignment(matrix, iou, deviation, not reasons, config.iou_threshold, "; ".join(reasons), first, second,
                     rms, residual, warnings, discs, refit)
