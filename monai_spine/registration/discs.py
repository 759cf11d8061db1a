"""Stage 3 of the alignment: the height along the spine set by the discs both images show (``docs/alignment.md``).

Stages 1 and 2 place the MRI by its spine mask's outline, which fixes the height only as well as the two masks'
ends agree: a segmentation that stops short of S1 or runs past the cut of the field slides the whole spine along
itself. Inside the column both images show the intervertebral discs. In the DXA's bone image a disc is the gap
between two bodies: the mean of the image over the middle 90 % of the spine mask, row by row, dips there (the
whole width, since the posterior arches fill the middle of each disc space in an AP projection). In the
MRI a disc differs from the marrow above and below: the mean inside the spine mask, slice by slice, dips (in-phase
and fat images) or peaks (water and T2-weighted ones). Each profile, less its trend over 10 mm and smoothed by
2 mm, is put on the DXA's heights by the matrix; the MRI's sign is the sign of its most extreme correlation with
the DXA's over a level either way (:func:`disc_sign`; the DXA's discs are always dark, and an MRI of the wrong
sign lays its broad bodies, not its narrow discs, on them); their normalised cross-correlation is searched over
shifts along the DXA's rows within half a level either way (the MRI profile's period, :func:`disc_periodicity`;
at most ``± search_mm``), since the pattern repeats at every level.

The stage is for a height the masks leave open (``height_open``: no end of the spine where both masks end
together inside their images), and the shift moves the matrix only where the MRI shows its discs (its profile
repeats with a level's period: :func:`disc_periodicity` at least ``min_periodicity``) and the match is not flat: a
correlation of at least ``min_ncc``, at least ``min_swing`` above the search's lowest, and a maximum inside the
search rather than at its edge. The DXA's side cannot be gated the same way: its disc spaces are faint under the
quantum noise, and a DXA of noise alone correlates with an MRI's discs about as well as a real render's do. On the
phantom, whose in-phase MRI shows its discs about as bright as its marrow, the MRI profile does not repeat and the
stage does not apply.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from monai.data.utils import affine_to_spacing
from scipy import ndimage

from monai_spine.geometry.extract import row_extents

from .rigid import apply_matrix

__all__ = ["DiscStage", "dxa_disc_profile", "mri_disc_profile", "detrended_profile", "disc_periodicity",
           "shift_correlations", "disc_sign", "disc_stage"]

PROFILE_STEP_MM = 0.5
"""Spacing of the common height grid the two profiles are compared on, mm."""
TREND_MM = 10.0
"""σ of the Gaussian trend taken off each profile, mm: longer than a disc (5–12 mm), shorter than a level."""
SMOOTHING_MM = 2.0
"""σ of the Gaussian smoothing of each profile, mm (the DXA's quantum noise)."""
MIN_OVERLAP_MM = 60.0
"""Least height both profiles cover at a shift for it to be scored: two lumbar discs."""
LEVEL_MM = (20.0, 50.0)
"""The range of a spinal level's height (a body and a disc, thoracic to lumbar), mm: the lags over which the MRI
profile's autocorrelation is searched for its period."""
DXA_PROFILE_SHARE = 0.9
"""Share of the mask's extent on each DXA row, about its middle, that the DXA profile averages
(:func:`dxa_disc_profile`)."""
MIN_ROW_PIXELS = 4
"""Least extent of the mask on a DXA row (pixels), and (× 5) its voxels in an MRI slice, for the row or slice to
enter its profile."""


@dataclass(frozen=True)
class DiscStage:
    """The result of stage 3.

    Args:
        matrix_mri_to_dxa: 3×3, MRI coronal frame → DXA frame, mm: stage 2's moved by ``shift_mm`` along the DXA's
            rows when ``applied``, stage 2's otherwise.
        shift_mm: the best shift along the DXA's rows (toward the feet positive), mm; 0 when no shift was scored.
        ncc: its normalised cross-correlation (−1 to 1; ``nan`` when no shift was scored).
        swing: ``ncc`` less the lowest correlation of the search (``nan`` when no shift was scored).
        disc_sign: +1 when the MRI's discs are dark (as the DXA's gaps), −1 when bright.
        periodicity: the MRI profile's highest autocorrelation at a lag of one level (:data:`LEVEL_MM`), −1 to 1:
            how clearly the MRI shows its discs (``nan`` when its profile is too short).
        period_mm: that lag, the MRI's level height, mm (``nan`` with ``periodicity``).
        height_open: whether the masks left the height open (the stage applies only then).
        applied: whether the shift moved the matrix.
    """

    matrix_mri_to_dxa: np.ndarray
    shift_mm: float
    ncc: float
    swing: float
    disc_sign: float
    periodicity: float
    period_mm: float
    height_open: bool
    applied: bool

    def to_dict(self) -> dict:
        """The ``stages.discs`` entry of ``alignment.json``."""
        return {"shift_mm": self.shift_mm, "ncc": self.ncc, "swing": self.swing, "disc_sign": self.disc_sign,
                "periodicity": self.periodicity, "period_mm": self.period_mm, "height_open": self.height_open,
                "applied": self.applied}


def dxa_disc_profile(image, mask) -> tuple[np.ndarray, np.ndarray]:
    """Per DXA row crossed by the spine mask: its height (row × row spacing, mm, DXA frame) and the bone image's
    mean over the middle :data:`DXA_PROFILE_SHARE` of the mask's extent on that row: nearly its whole width, since
    in an AP projection the spinous processes and laminae lie over the middle of each disc space and the disc gap
    shows clean only at the column's sides (the middle half alone found the true height on 10 of 11 real renders at
    the true pose, correlation 0.14–0.47; 90 %: 11 of 11, 0.41–0.75); the mask's edge pixels are left out.

    Args:
        image, mask: ``(1, W, H)`` the DXA (``LoadRadiograph``) and its spine mask on the same grid.
    """
    pixels = np.asarray(image[0], dtype=np.float64)
    row_mm = float(affine_to_spacing(image.affine, r=2)[1])
    rows, first, last = row_extents(mask[0])
    wide = last - first + 1 >= MIN_ROW_PIXELS
    rows, first, last = rows[wide], first[wide], last[wide]
    margin = (last - first) * (1.0 - DXA_PROFILE_SHARE) / 2.0
    starts, stops = np.ceil(first + margin).astype(int), np.floor(last - margin).astype(int) + 1
    values = [pixels[start:stop, row].mean() for row, start, stop in zip(rows, starts, stops)]
    return rows * row_mm, np.asarray(values)


def mri_disc_profile(volume, mask) -> tuple[np.ndarray, np.ndarray]:
    """Per MRI slice crossed by the spine mask: the mask's centre ``(x, z)`` in the MRI coronal frame (mm) and the
    volume's mean inside the mask.

    Args:
        volume, mask: ``(1, X, Y, Z)`` the MRI (``LoadVolume``, slices along z) and its spine mask on the same grid.
    """
    voxels, inside = np.asarray(volume[0], dtype=np.float64), np.asarray(mask[0]) > 0
    spacing = np.asarray(affine_to_spacing(mask.affine, r=3), dtype=np.float64)
    counts = inside.sum(axis=(0, 1))
    slices = np.flatnonzero(counts >= 5 * MIN_ROW_PIXELS)
    x_sums = np.einsum("xyz,x->z", inside, np.arange(inside.shape[0], dtype=np.float64))
    values = (voxels * inside).sum(axis=(0, 1))[slices] / counts[slices]
    centres = np.stack([x_sums[slices] / counts[slices] * spacing[0], slices * spacing[2]], axis=1)
    return centres, values


def detrended_profile(heights: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """A profile (``values`` at ``heights``, mm) on ``grid`` (step :data:`PROFILE_STEP_MM`; NaN outside its heights),
    smoothed by :data:`SMOOTHING_MM` less its trend (:data:`TREND_MM`)."""
    order = np.argsort(heights)
    profile = np.interp(grid, heights[order], values[order], left=np.nan, right=np.nan)
    known = np.isfinite(profile)
    filled = np.where(known, profile, np.nanmean(profile))
    band = (ndimage.gaussian_filter1d(filled, SMOOTHING_MM / PROFILE_STEP_MM)
            - ndimage.gaussian_filter1d(filled, TREND_MM / PROFILE_STEP_MM))
    return np.where(known, band, np.nan)


def _correlation(dxa: np.ndarray, mri: np.ndarray, steps: int) -> float:
    """Normalised cross-correlation of ``dxa`` with ``mri`` moved ``steps`` grid steps down, over the heights both
    cover; ``nan`` when they share less than :data:`MIN_OVERLAP_MM`."""
    moved = np.full_like(mri, np.nan)
    if steps >= 0:
        moved[steps:] = mri[: len(mri) - steps]
    else:
        moved[:steps] = mri[-steps:]
    both = np.isfinite(dxa) & np.isfinite(moved)
    if both.sum() * PROFILE_STEP_MM < MIN_OVERLAP_MM:
        return float("nan")
    a, b = dxa[both] - dxa[both].mean(), moved[both] - moved[both].mean()
    norm = np.sqrt((a @ a) * (b @ b))
    return float(a @ b / norm) if norm > 0 else float("nan")


def disc_periodicity(profile: np.ndarray) -> tuple[float, float]:
    """How clearly a detrended profile (on the grid of step :data:`PROFILE_STEP_MM`, NaN outside its heights)
    repeats with a spinal level's period: its highest normalised autocorrelation at lags in :data:`LEVEL_MM`, and
    that lag (mm); ``(nan, nan)`` when the profile is too short."""
    lags = np.arange(round(LEVEL_MM[0] / PROFILE_STEP_MM), round(LEVEL_MM[1] / PROFILE_STEP_MM) + 1)
    scores = np.array([_correlation(profile, profile, int(lag)) for lag in lags])
    if not np.isfinite(scores).any():
        return float("nan"), float("nan")
    best = int(np.nanargmax(scores))
    return float(scores[best]), float(lags[best] * PROFILE_STEP_MM)


def shift_correlations(dxa: np.ndarray, mri: np.ndarray, reach_mm: float) -> np.ndarray:
    """The normalised cross-correlation of two detrended profiles (same grid, step :data:`PROFILE_STEP_MM`) at each
    shift of the MRI's within ``± reach_mm``, in grid steps from ``−n`` to ``n`` (``nan`` where they overlap too
    little)."""
    steps = np.arange(-round(reach_mm / PROFILE_STEP_MM), round(reach_mm / PROFILE_STEP_MM) + 1)
    return np.array([_correlation(dxa, mri, int(step)) for step in steps])


def disc_sign(scores: np.ndarray) -> float:
    """+1 when the MRI's discs are dark, as the DXA's gaps always are, −1 when they are bright: the sign of the most
    extreme of the profiles' correlations ``scores`` over shifts within a level either way
    (:func:`shift_correlations`). The two signs' best matches lie half a level apart, and only the right one lays
    the MRI's narrow discs, not its broad bodies, on the DXA's narrow gaps, so it correlates higher: right on 32 of
    33 real renders' volumes at the truth (in-phase, water, T2-like; seeds 11 and 14), where the profile's skewness,
    the first rule, was wrong on 3 (``docs/alignment.md``). +1 when no shift can be scored."""
    if not np.isfinite(scores).any():
        return 1.0
    return 1.0 if np.nanmax(scores) >= -np.nanmin(scores) else -1.0


def disc_stage(dxa_image, dxa_mask, mri_volume, mri_mask, matrix_mri_to_dxa, height_open: bool = True,
               search_mm: float = 20.0, min_ncc: float = 0.3, min_swing: float = 0.6,
               min_periodicity: float = 0.65) -> DiscStage:
    """Stage 3: the shift along the DXA's rows that lines up the discs of the two images (module docstring).

    Args:
        dxa_image, dxa_mask: ``(1, W, H)`` the DXA and its spine mask (:func:`dxa_disc_profile`).
        mri_volume, mri_mask: ``(1, X, Y, Z)`` the MRI and its spine mask (:func:`mri_disc_profile`).
        matrix_mri_to_dxa: 3×3 stage 2's matrix, MRI coronal frame → DXA frame.
        height_open: whether the masks left the height open; the shift is scored but not applied otherwise.
        search_mm: shifts are searched within ``± search_mm``, or within half the MRI's level (``period_mm / 2``)
            where that is less: beyond it the pattern repeats, so a larger shift cannot be told from the
            neighbouring level's.
        min_ncc: least normalised cross-correlation for the shift to be applied.
        min_swing: least difference between that correlation and the search's lowest for the shift to be applied.
        min_periodicity: least :func:`disc_periodicity` of the MRI profile for the shift to be applied.
    """
    matrix = np.asarray(matrix_mri_to_dxa, dtype=np.float64)
    dxa_heights, dxa_values = dxa_disc_profile(dxa_image, dxa_mask)
    centres, mri_values = mri_disc_profile(mri_volume, mri_mask)
    nan = float("nan")
    if len(dxa_heights) < 2 or len(mri_values) < 2:
        return DiscStage(matrix, 0.0, nan, nan, 1.0, nan, nan, height_open, False)
    mri_heights = apply_matrix(matrix, centres)[:, 1]
    grid = np.arange(min(dxa_heights.min(), mri_heights.min()) - search_mm,
                     max(dxa_heights.max(), mri_heights.max()) + search_mm, PROFILE_STEP_MM)
    dxa, mri = detrended_profile(dxa_heights, dxa_values, grid), detrended_profile(mri_heights, mri_values, grid)
    periodicity, period = disc_periodicity(mri)
    level = period if np.isfinite(period) else 2.0 * search_mm
    wide = shift_correlations(dxa, mri, level)  # a level either way for the sign, half of it for the shift
    sign = disc_sign(wide)
    reach = round(min(search_mm, level / 2.0) / PROFILE_STEP_MM)
    middle = wide.size // 2
    scores = sign * wide[middle - reach : middle + reach + 1]  # shifts of -reach ... reach grid steps
    if not np.isfinite(scores).any():
        return DiscStage(matrix, 0.0, nan, nan, sign, periodicity, period, height_open, False)
    best = int(np.nanargmax(scores))
    shift, ncc = float((best - reach) * PROFILE_STEP_MM), float(scores[best])
    swing = ncc - float(np.nanmin(scores))
    applies = (height_open and ncc >= min_ncc and swing >= min_swing and periodicity >= min_periodicity
               and best not in (0, scores.size - 1))
    moved = matrix.copy()
    if applies:
        moved[1, 2] += shift
    return DiscStage(moved, shift, ncc, swing, sign, periodicity, period, height_open, applies)
