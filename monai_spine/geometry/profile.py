"""A 2D spine mask's shape along its length: the centre and width of each row, and whether its sides are ragged.

Masks of the same spine may differ in length and width, but a spine's outline changes smoothly from row to row
(the bodies' waists, the discs); a segmentation that broke up has ragged sides. The registration's profile match
(``registration.profile``) and every route's mask QC (``pipelines.results``) read masks through this module. Numpy
only, mm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .extract import row_extents

__all__ = ["MAX_RAGGED_JUMPS_PER_100MM", "RAGGED_JUMP_MM", "RowProfile", "row_profile", "ragged_mask_warning"]

RAGGED_JUMP_MM = 3.0
"""A change of a mask's width between adjacent rows larger than this (mm) is a jump."""
MAX_RAGGED_JUMPS_PER_100MM = 5.0
"""A spine's outline jumps at most this often per 100 mm of height (``docs/alignment.md``, Quality control: exact
masks 0.1-3.6, masks of segmentations that broke up 5-12)."""


@dataclass(frozen=True)
class RowProfile:
    """A 2D mask's shape per row.

    Args:
        centre_mm: ``(H,)`` x of the midpoint of each row's extreme foreground pixels, mm; ``nan`` off the spine.
        width_mm: ``(H,)`` distance between those pixels' centres, mm; ``nan`` off the spine.
        row_mm: the row spacing, mm.
    """

    centre_mm: np.ndarray
    width_mm: np.ndarray
    row_mm: float

    @property
    def rows(self) -> np.ndarray:
        """Indices of the rows the profile covers."""
        return np.flatnonzero(np.isfinite(self.centre_mm))

    def width_jumps_per_100mm(self, jump_mm: float) -> float:
        """How often the width changes by more than ``jump_mm`` from one row to the next, per 100 mm of height: a
        segmentation that broke up has ragged sides, a spine's outline (the bodies' waists, the discs) changes
        smoothly. 0 for a profile of fewer than two rows."""
        width = self.width_mm[self.rows]
        if width.size < 2:
            return 0.0
        return float(np.count_nonzero(np.abs(np.diff(width)) > jump_mm) * 100.0 / (width.size * self.row_mm))


def row_profile(mask, spacing: Sequence[float], origin_x_mm: float = 0.0, end_mm: float = 5.0) -> RowProfile:
    """The centre and width of each row of a 2D mask, leaving out the rows within ``end_mm`` of its first and
    last foreground rows (the partial cuts through the end plates, where a mask cut at another level differs most).

    Args:
        mask: ``(W, H)`` array, (column, row); foreground is ``> 0``.
        spacing: the pixel spacing ``(column, row)``, mm.
        origin_x_mm: x of column 0's centre, mm.
        end_mm: the height left out at each end, mm.
    """
    height = np.asarray(mask).shape[1]
    rows, first, last = row_extents(mask)
    centre, width = np.full(height, np.nan), np.full(height, np.nan)
    end = int(round(end_mm / spacing[1]))
    if rows.size > 2 * end + 1:
        inner = (rows > rows[0] + end) & (rows < rows[-1] - end)
        rows, first, last = rows[inner], first[inner], last[inner]
    centre[rows] = origin_x_mm + 0.5 * (first + last) * spacing[0]
    width[rows] = (last - first) * spacing[0]
    return RowProfile(centre, width, float(spacing[1]))


def ragged_mask_warning(name: str, mask, spacing: Sequence[float], end_mm: float = 5.0,
                        jump_mm: float = RAGGED_JUMP_MM,
                        max_jumps_per_100mm: float = MAX_RAGGED_JUMPS_PER_100MM) -> str | None:
    """A QC warning when the 2D spine ``mask`` (``(W, H)``, pixel ``spacing`` (column, row) mm; named ``name`` in
    the warning, e.g. ``"DXA"``) has ragged sides: its width changes by more than ``jump_mm`` between adjacent rows
    more often than ``max_jumps_per_100mm`` times per 100 mm of height (:meth:`RowProfile.width_jumps_per_100mm`,
    leaving out ``end_mm`` at each end). ``None`` when the mask is not ragged."""
    jumps = row_profile(mask, spacing, end_mm=end_mm).width_jumps_per_100mm(jump_mm)
    if jumps <= max_jumps_per_100mm:
        return None
    return (f"the {name} spine mask is ragged: its width jumps by more than {jump_mm:g} mm {jumps:.1f} times per "
            f"100 mm of height (a spine's outline at most {max_jumps_per_100mm:g})")
