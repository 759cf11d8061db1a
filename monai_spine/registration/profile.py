"""The spine's shape along its length: per-row centre and width of a coronal mask, and the shift along the spine
that makes two such profiles agree.

Why: masks of the same spine may differ in length (a segmentation that misses a level at one end) and in width
(one too wide or too narrow by a few mm). An overlap score of the masks (cross-correlation, mutual information)
then prefers the pose where the wide lumbar parts coincide, a level or two off along the spine, and the outline
fit (ICP) cannot tell: a tube fits its sides at any height. What does not change with those errors is the shape
along the length: the centre line's lateral course and how the width varies from level to level. Matching both on
the stretch the two masks share, with their mean differences (a lateral offset, a constant width error) removed,
finds the height.

All maps are SimpleITK images in the DXA frame (``docs/frames.md``), mm; the per-row profile itself is
``geometry.profile``'s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from monai_spine.geometry.profile import RowProfile, row_profile

from .coronal import to_array

__all__ = ["ProfileMatch", "match_profiles", "mask_profile"]


def mask_profile(mask: sitk.Image, end_mm: float = 5.0) -> RowProfile:
    """:func:`~monai_spine.geometry.profile.row_profile` of a 2D SimpleITK mask, in its frame (spacing, origin)."""
    return row_profile(to_array(mask), mask.GetSpacing(), mask.GetOrigin()[0], end_mm)


def _shifted(values: np.ndarray, rows: int) -> np.ndarray:
    """``values`` moved by ``rows`` along the array (toward higher indices when positive), ``nan`` filled."""
    out = np.full_like(values, np.nan)
    if rows >= 0:
        out[rows:] = values[: values.size - rows]
    else:
        out[:rows] = values[-rows:]
    return out


@dataclass(frozen=True)
class ProfileMatch:
    """The best shift along the spine between two row profiles on the same pixels.

    Args:
        shift_mm: ``(dx, dz)``: move the second mask by this to match the first, mm.
        residual_mm: RMS of the centre difference about its straight-line fit along the rows and of the width
            difference about its mean, over the shared rows, mm (the same spine, rigidly moved: 1–2 mm on the
            phantom's masks).
        width_offset_mm: mean width difference, first minus second, over the shared rows, mm.
        shared_mm: the height the profiles share at that shift, mm.
    """

    shift_mm: tuple[float, float]
    residual_mm: float
    width_offset_mm: float
    shared_mm: float


def _squared_error(z: np.ndarray, d_centre: np.ndarray, d_width: np.ndarray) -> np.ndarray:
    """Per row: the centre difference about its straight-line fit along ``z``, squared, plus the width difference
    about its mean, squared."""
    return (d_centre - np.polyval(np.polyfit(z, d_centre, 1), z)) ** 2 + (d_width - d_width.mean()) ** 2


def _residual(fixed: RowProfile, centre: np.ndarray, width: np.ndarray, shared: np.ndarray, share: float
              ) -> tuple[float, ...]:
    """``(residual, lateral offset, width offset)`` of a moved profile against ``fixed`` over the ``shared`` rows;
    the residual over the ``share`` of them that agree best (straight line and mean refitted on those)."""
    d_centre = fixed.centre_mm[shared] - centre[shared]
    d_width = fixed.width_mm[shared] - width[shared]
    offsets = float(d_centre.mean()), float(d_width.mean())
    z = np.flatnonzero(shared).astype(np.float64)
    error = _squared_error(z, d_centre, d_width)
    if share < 1.0:  # refit on the best-agreeing rows (match_profiles runs this for every shift: only when asked)
        best = error <= np.quantile(error, share)
        error = _squared_error(z[best], d_centre[best], d_width[best])
    return float(np.sqrt(error.mean())), *offsets


def match_profiles(fixed: RowProfile, moving: RowProfile, max_shift_mm: float, overlap_slack_mm: float = 10.0,
                   share: float = 1.0) -> ProfileMatch:
    """The shift along the rows (and the lateral offset) that best lays ``moving``'s profile on ``fixed``'s.

    Whole-row shifts in ``±max_shift_mm`` are tried. Only those that keep the profiles overlapping over the most
    rows any shift gives, less ``overlap_slack_mm``, qualify: a shorter mask of the same spine lies wholly within
    the longer one at the truth, whereas sliding a bent or different spine partly off the other would hide where
    they differ. At each, over the rows both cover, the lateral offset is the centre difference's mean and the
    width error the width difference's mean; the residual is the RMS of what is left of the centre difference
    once its straight-line fit is taken out (a rotation of up to a few degrees, which the outline fit corrects
    next) and of the width difference once its mean is: ``sqrt(mean(Δcentre − line)² + var(Δwidth))``, over the
    ``share`` of the rows where the two agree best (line and mean refitted on them). The smallest residual wins.

    Args:
        fixed: the DXA mask's profile.
        moving: the aligned MRI mask's profile on the same pixels.
        max_shift_mm: the largest shift along the spine tried, mm.
        overlap_slack_mm: how much less than the largest overlap a qualifying shift may share, mm.
        share: share of the shared rows the residual is taken over, the best-agreeing (1: all).

    Returns:
        :class:`ProfileMatch`; its residual is ``inf`` (and the shift 0) when the profiles share fewer than three
        rows at every shift.
    """
    limit = int(round(max_shift_mm / fixed.row_mm))
    shifts = range(-limit, limit + 1)
    moved = [(_shifted(moving.centre_mm, rows), _shifted(moving.width_mm, rows)) for rows in shifts]
    shared = [np.isfinite(centre) & np.isfinite(fixed.centre_mm) for centre, _ in moved]
    counts = np.array([np.count_nonzero(rows) for rows in shared])
    needed = max(counts.max() - overlap_slack_mm / fixed.row_mm, 3)
    best = ProfileMatch((0.0, 0.0), float("inf"), 0.0, 0.0)
    for rows, (centre, width), common, count in zip(shifts, moved, shared, counts):
        if count < needed:
            continue
        residual, d_centre, d_width = _residual(fixed, centre, width, common, share)
        if residual < best.residual_mm:
            best = ProfileMatch((d_centre, rows * fixed.row_mm), residual, d_width, count * fixed.row_mm)
    return best
