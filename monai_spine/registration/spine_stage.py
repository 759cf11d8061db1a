"""Stage 2, spine level: iterative closest points (ICP) between the two spine masks' outlines.

Key points are the MRI spine outline: the boundary pixels of the projected MRI mask (every one, so the sides,
the top and the bottom all count). Each is paired with the closest point of the DXA mask's boundary, found with
the DXA mask's signed distance map (``p − d(p) ∇d(p)``): a point on the continuous boundary, not the nearest
boundary pixel, so that the fit can slide along the spine by less than a pixel instead of snapping to the pixel
grid. Each point is fitted to the boundary's tangent line at its pair (point-to-line, :func:`point_to_line_step`), so
that it may slide along the boundary; pairing and fitting repeat until the points move less than the tolerance.

Pairs farther apart than the trimming distance are left out of the fit: where the masks end differently (a
segmentation that stops one disc lower, the sacrum) those points would pull the whole spine along its length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from .coronal import to_array
from .rigid import apply_matrix, rotation_deg

__all__ = [
    "MaskBoundary",
    "SpineStage",
    "boundary_points",
    "shared_stretch",
    "point_to_line_step",
    "closest_point_fit",
    "outline_distance",
]


def boundary_points(mask: sitk.Image) -> np.ndarray:
    """``(N, 2)`` centres ``(x, z)`` mm of a 2D mask's boundary pixels (foreground with a background 4-neighbour).

    Pixels on the image's edge count as boundary only where a background pixel is next to them: where the mask
    runs into the edge (a spine cut by the field of view) the cut is no outline of the spine, and its points, paired
    with the other mask's sides, kept the outlines of the same spine 3–4 mm apart (RMS) on the real CT's renders.
    """
    foreground = to_array(mask) > 0
    edge = foreground & ~ndimage.binary_erosion(foreground, border_value=1)
    return np.argwhere(edge) * np.asarray(mask.GetSpacing()) + np.asarray(mask.GetOrigin())


def shared_stretch(fixed_points, moving_points, end_mm: float = 5.0) -> np.ndarray:
    """Which ``moving_points`` lie on the stretch of the spine both outlines show, as placed (both in the DXA frame).

    At each end (top, bottom) where the two outlines end within ``end_mm`` of each other, the end belongs to
    the stretch (its points are kept: they fix the height); where they end further apart (a mask that misses a
    level, a field of view that stops early) the stretch stops ``end_mm`` inside the shorter one, so that the
    longer outline's surplus and the shorter one's end, which lies inside the other mask, are both left out.

    Args:
        fixed_points: ``(M, 2)`` the DXA outline ``(x, z)`` mm.
        moving_points: ``(N, 2)`` the MRI outline mapped into the DXA frame, mm.
        end_mm: how far apart two ends may be and still count as the same end, mm.

    Returns:
        ``(N,)`` bool.
    """
    fixed_z, moving_z = np.asarray(fixed_points)[:, 1], np.asarray(moving_points)[:, 1]
    ends = []
    for fixed_end, moving_end, inward in ((fixed_z.min(), moving_z.min(), 1.0), (fixed_z.max(), moving_z.max(), -1.0)):
        if abs(fixed_end - moving_end) <= end_mm:
            ends.append(min(fixed_end, moving_end, key=lambda z: inward * z) - inward * end_mm)
        else:
            ends.append(max(fixed_end, moving_end, key=lambda z: inward * z) + inward * end_mm)
    return (moving_z >= ends[0]) & (moving_z <= ends[1])


class MaskBoundary:
    """The boundary of a 2D mask as a distance field: signed distance and closest boundary point anywhere.

    The field is SimpleITK's ``SignedMaurerDistanceMap`` (mm, negative inside), whose zero level runs through
    the boundary pixels' centres, so that :func:`boundary_points` of another mask on the same pixel size lie on
    it when the masks coincide. Values between pixels are linear; outside the image, the nearest pixel's.

    Args:
        mask: 2D mask image in its coronal frame.
    """

    def __init__(self, mask: sitk.Image) -> None:
        distance = sitk.SignedMaurerDistanceMap(mask > 0, insideIsPositive=False, squaredDistance=False,
                                                useImageSpacing=True)
        self.origin = np.asarray(mask.GetOrigin())
        self.spacing = np.asarray(mask.GetSpacing())
        self.distance = to_array(distance).astype(np.float64)
        self.gradient = np.stack(np.gradient(self.distance, *self.spacing))

    def project(self, points) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(N, 2)`` points mm → their closest boundary points ``(N, 2)`` mm, signed distances ``(N,)`` mm and the
        boundary's outward unit normals there ``(N, 2)`` (the distance field's gradient)."""
        points = np.asarray(points, dtype=np.float64)
        index = ((points - self.origin) / self.spacing).T

        def sample(field):
            return ndimage.map_coordinates(field, index, order=1, mode="nearest")

        distance = sample(self.distance)
        normal = np.stack([sample(g) for g in self.gradient], axis=1)
        normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-9)
        return points - distance[:, None] * normal, distance, normal


def _fitted(distance: np.ndarray, trim_mm: float) -> np.ndarray:
    """Which pairs a fit uses: distance within ``trim_mm``, or within 3 × the median when that is larger."""
    return np.abs(distance) <= max(trim_mm, 3.0 * float(np.median(np.abs(distance))))


@dataclass(frozen=True)
class SpineStage:
    """The result of stage 2.

    Args:
        matrix_mri_to_dxa: 3×3, MRI coronal frame → DXA frame, mm.
        iterations: pairing-and-fitting rounds run.
        converged: whether the last round moved every key point less than the tolerance.
        rms_mm: root-mean-square of the key points' signed distances to the DXA boundary about their median, over
            the fit's ``share`` of the points closest to it, mm: how far the outlines' shapes differ once a
            constant width error is set aside.
        offset_mm: the median signed distance, mm: positive when the MRI outline lies outside the DXA's (the MRI
            mask wider), negative when inside.
        fitted_share: share of key points the fit would use at the end (within the trimming distance).
    """

    matrix_mri_to_dxa: np.ndarray
    iterations: int
    converged: bool
    rms_mm: float
    offset_mm: float
    fitted_share: float

    def to_dict(self) -> dict:
        """The ``stages.spine`` entry of ``alignment.json``."""
        return {
            "rotation_deg": rotation_deg(self.matrix_mri_to_dxa),
            "translation_mm": self.matrix_mri_to_dxa[:2, 2].tolist(),
            "iterations": self.iterations,
            "converged": self.converged,
            "rms_distance_mm": self.rms_mm,
            "outline_offset_mm": self.offset_mm,
            "fitted_share": self.fitted_share,
        }


def point_to_line_step(points, closest, normal, along_spine: bool = True) -> np.ndarray:
    """The small rigid move, 3×3 in the DXA frame, that brings ``points`` ``(N, 2)`` mm closest, in least squares, to
    the boundary's tangent lines through ``closest`` (normals ``normal``): point-to-line ICP (Chen & Medioni 1992),
    linearised in the angle about the points' centroid and solved exactly.

    Point-to-point pairs pull a point toward one boundary point, so a fit along a nearly straight column creeps by
    a fraction of a millimetre a round (hundreds of rounds without converging on segmented masks); the tangent
    lines leave a point free to slide along the boundary, so the move along the spine is set at once by what
    constrains it: the column's curvature and its ends. With ``along_spine=False`` the move along z (the DXA's
    rows) is held at 0: only the rotation and the lateral offset are fitted.
    """
    centre = points.mean(0)
    arm = points - centre
    design = np.c_[normal[:, 1] * arm[:, 0] - normal[:, 0] * arm[:, 1], normal]  # d(n·(R p + t)) / d(θ, tx, tz)
    solution, *_ = np.linalg.lstsq(design if along_spine else design[:, :2],
                                   np.sum(normal * (closest - points), axis=1), rcond=None)
    angle, tx, tz = (*solution, 0.0)[:3]
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    step = np.eye(3)
    step[:2, :2] = rotation
    step[:2, 2] = centre - rotation @ centre + (tx, tz)
    return step


def closest_point_fit(
    fixed: MaskBoundary,
    moving_points,
    matrix_mri_to_dxa,
    iterations: int = 100,
    tolerance_mm: float = 0.01,
    trim_mm: float = 3.0,
    share: float = 1.0,
    along_spine: bool = True,
) -> SpineStage:
    """ICP: pair each key point with the closest DXA boundary point and its tangent, fit
    (:func:`point_to_line_step`), repeat.

    Args:
        fixed: the DXA mask's boundary.
        moving_points: ``(N, 2)`` key points in the MRI coronal frame, mm (:func:`boundary_points`).
        matrix_mri_to_dxa: the starting 3×3 map (stage 1's).
        iterations: the most rounds.
        tolerance_mm: stop when no key point moves more than this in a round, mm.
        trim_mm: pairs farther apart than this, or than 3 × the median distance when that is larger (a start
            a few mm off), are left out of the fit, mm.
        share: share of the key points the outline RMS is taken over, those whose distance is closest to the
            median (1: all).
        along_spine: whether the fit may move along z (the DXA's rows); ``False`` holds the height (stage 3's)
            and fits the rotation and the lateral offset only.
    """
    moving_points = np.asarray(moving_points, dtype=np.float64)
    matrix = np.asarray(matrix_mri_to_dxa, dtype=np.float64)
    mapped = apply_matrix(matrix, moving_points)
    converged = False
    for iteration in range(1, iterations + 1):
        closest, distance, normal = fixed.project(mapped)
        keep = _fitted(distance, trim_mm)
        matrix = point_to_line_step(mapped[keep], closest[keep], normal[keep], along_spine) @ matrix
        moved = apply_matrix(matrix, moving_points)
        converged = bool(np.max(np.linalg.norm(moved - mapped, axis=1)) < tolerance_mm)
        mapped = moved
        if converged:
            break
    distance = fixed.project(mapped)[1]
    rms, offset = _spread_about_median(distance, share)
    return SpineStage(
        matrix_mri_to_dxa=matrix,
        iterations=iteration,
        converged=converged,
        rms_mm=rms,
        offset_mm=offset,
        fitted_share=float(np.mean(_fitted(distance, trim_mm))),
    )


def _spread_about_median(distance: np.ndarray, share: float) -> tuple[float, float]:
    """``(rms, offset)`` of signed distances ``(N,)`` mm: ``offset`` their median, ``rms`` the root-mean-square of
    the distances about it over the ``share`` of them closest to it (1: all)."""
    offset = float(np.median(distance))
    deviation = np.abs(distance - offset)
    best = deviation <= np.quantile(deviation, share)
    return float(np.sqrt(np.mean(deviation[best] ** 2))), offset


def outline_distance(fixed: MaskBoundary, moving_points, matrix_mri_to_dxa, share: float = 1.0) -> tuple[float, float]:
    """``(rms, offset)``: how far key points mapped by ``matrix_mri_to_dxa`` lie from the DXA boundary, mm.

    ``offset`` is the median signed distance (positive: the MRI outline outside the DXA's), ``rms`` the
    root-mean-square of the distances about it over the ``share`` of the points closest to it (1: all).
    """
    distance = fixed.project(apply_matrix(matrix_mri_to_dxa, np.asarray(moving_points, dtype=np.float64)))[1]
    return _spread_about_median(distance, share)
