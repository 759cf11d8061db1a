"""Spine curves from spine masks, and masks from curves.

Frames and units are those of ``docs/frames.md``: a 2D mask is ``(W, H)`` = (column, row) in the coronal or
lateral image frame, a 3D mask is ``(X, Y, Z)`` in the patient volume frame, and every returned coordinate is
``index × spacing`` in millimetres. Any value ``> 0`` is foreground, so label maps work as masks.

Conventions shared by every function here:

- the height axis is the **last** axis (image rows, or volume z);
- a boundary is measured at pixel **edges**: the low boundary of a row is the low edge of its first
  foreground pixel (``(index − 0.5) × spacing``), the high boundary the high edge of its last one
  (``(index + 0.5) × spacing``), so that :func:`mask_from_curves` gives the mask back;
- a **centre** curve is the midpoint of the two boundaries (not the pixel centroid): it is then exactly the
  mean of the boundary curves whatever holes the mask has, and a coronal centre measured on a projection
  of a 3D mask equals the one measured on the 3D mask itself;
- curves have ``n_points`` points evenly spaced in height from the first foreground row's centre (top) to
  the last one's (bottom); values between rows, and over rows with no foreground, are linearly
  interpolated.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import ndimage

from .curves import N_POINTS, SpineCurves

__all__ = [
    "TAIL_WINDOW_MM",
    "BoundaryCurves",
    "VolumeCurves",
    "spine_component",
    "row_extents",
    "curves_from_mask",
    "mask_from_curves",
    "spine_curves_from_views",
    "curves_from_volume",
]


class BoundaryCurves(NamedTuple):
    """The three curves of one view, each ``(N, 2)`` of ``(lateral, z)`` mm, top to bottom.

    For a coronal view ``lateral`` is x, ``low`` the patient's right boundary and ``high`` the left one; for a
    lateral view ``lateral`` is y, ``low`` the posterior boundary and ``high`` the anterior one.
    """

    centre: np.ndarray
    low: np.ndarray
    high: np.ndarray


class VolumeCurves(NamedTuple):
    """Curves of a 3D spine mask: the six view curves and the centroid line ``(N, 3)`` of ``(x, y, z)`` mm."""

    curves: SpineCurves
    centre_line: np.ndarray


def spine_component(mask, max_gap: int = 0) -> np.ndarray:
    """Keep the largest connected piece of foreground, bridging gaps along the height (last) axis.

    Pieces separated along the height axis by at most ``max_gap`` empty rows (slices) count as one piece, so
    a spine mask broken at a disc stays whole while a separate blob beside it is dropped. Connectivity is
    full (8 in 2D, 26 in 3D). "Largest" counts foreground pixels.

    Args:
        mask: ``(W, H)`` or ``(X, Y, Z)`` array; foreground is ``> 0``.
        max_gap: the longest run of empty rows bridged, in rows.

    Returns:
        bool array of the mask's shape, all ``False`` if the mask has no foreground.
    """
    mask = np.asarray(mask) > 0
    if not mask.any():
        return mask
    joined = mask
    if max_gap > 0:  # extend every piece by max_gap rows in one direction along the height axis
        line = np.zeros((1,) * (mask.ndim - 1) + (2 * max_gap + 1,), dtype=bool)
        line[..., max_gap:] = True
        joined = ndimage.binary_dilation(mask, structure=line)
    labels, _ = ndimage.label(joined, structure=ndimage.generate_binary_structure(mask.ndim, mask.ndim))
    sizes = np.bincount(labels[mask])
    sizes[0] = 0
    return mask & (labels == sizes.argmax())


def row_extents(mask) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row with foreground, the first and last foreground column of a 2D mask.

    Args:
        mask: ``(W, H)`` array, (column, row); foreground is ``> 0``.

    Returns:
        ``(rows, first, last)``: int arrays ``(R,)`` of the row indices that have foreground (ascending), and
        the lowest and highest foreground column index in each.
    """
    mask = np.asarray(mask) > 0
    rows = np.flatnonzero(mask.any(axis=0))
    mask = mask[:, rows]
    first = mask.argmax(axis=0)
    last = mask.shape[0] - 1 - mask[::-1].argmax(axis=0)
    return rows, first, last


TAIL_WINDOW_MM = 120.0
"""The height of a mask's lowest stretch, mm, whose median row width a narrow tail below the column is measured
against (:func:`curves_from_mask`'s ``tail_width_fraction``): about three lumbar levels."""


def _gap_rows(max_gap_mm: float, row_spacing: float) -> int:
    return int(np.floor(max_gap_mm / row_spacing + 1e-9))


def _cut_narrow_ends(rows, first, last, least_width: float, leading: bool = True):
    """Drop the trailing rows (and the leading ones, with ``leading``) narrower than ``least_width`` pixels."""
    wide = np.nonzero(last - first + 1 >= least_width)[0]
    keep = slice(wide[0] if leading else 0, wide[-1] + 1)
    return rows[keep], first[keep], last[keep]


def _trim_partial_ends(rows, first, last, min_width_fraction: float):
    """Drop the leading and trailing rows narrower than ``min_width_fraction`` × the median row width: the
    partial cuts through a tilted end plate, whose midpoints bend the centre line."""
    if min_width_fraction <= 0:
        return rows, first, last
    return _cut_narrow_ends(rows, first, last, min_width_fraction * np.median(last - first + 1))


def _trim_tail(rows, first, last, tail_width_fraction: float, tail_window_rows: int):
    """Drop the trailing rows narrower than ``tail_width_fraction`` × the median width of the rows within
    ``tail_window_rows`` of the last one: a segmentation's narrow tail below the column (into the sacrum, below the
    S1 body), which lengthens the spine and bends its centre line."""
    if tail_width_fraction <= 0:
        return rows, first, last
    lowest = rows >= rows[-1] - tail_window_rows
    least_width = tail_width_fraction * np.median(last[lowest] - first[lowest] + 1)
    return _cut_narrow_ends(rows, first, last, least_width, leading=False)


def _view_curves(mask: np.ndarray, spacing, n_points: int, min_width_fraction: float = 0.0,
                 tail_width_fraction: float = 0.0, tail_window_mm: float = TAIL_WINDOW_MM) -> BoundaryCurves:
    """:func:`curves_from_mask` on a mask that is already the spine component."""
    rows, first, last = row_extents(mask)
    if rows.size == 0:
        raise ValueError("the mask has no foreground.")
    col_spacing, row_spacing = (float(s) for s in spacing)
    rows, first, last = _trim_tail(rows, first, last, tail_width_fraction, int(round(tail_window_mm / row_spacing)))
    rows, first, last = _trim_partial_ends(rows, first, last, min_width_fraction)
    z_rows = rows * row_spacing
    z = np.linspace(z_rows[0], z_rows[-1], n_points)
    low = np.interp(z, z_rows, (first - 0.5) * col_spacing)
    high = np.interp(z, z_rows, (last + 0.5) * col_spacing)
    return BoundaryCurves(
        centre=np.stack([(low + high) / 2, z], axis=1),
        low=np.stack([low, z], axis=1),
        high=np.stack([high, z], axis=1),
    )


def curves_from_mask(
    mask, spacing, n_points: int = N_POINTS, max_gap_mm: float = 10.0, min_width_fraction: float = 0.0,
    tail_width_fraction: float = 0.0, tail_window_mm: float = TAIL_WINDOW_MM,
) -> BoundaryCurves:
    """The centre and boundary curves of a 2D spine mask (coronal or lateral).

    The mask is first reduced to its spine component (:func:`spine_component`, bridging gaps of up to
    ``max_gap_mm`` along z); then per foreground row the boundaries are its extreme pixel edges and the centre
    their midpoint, and the curves are resampled to ``n_points`` heights evenly spaced from the top row's
    centre to the bottom one's (see the module docstring).

    Args:
        mask: ``(W, H)`` array, (column, row); foreground is ``> 0``.
        spacing: ``(column spacing, row spacing)`` mm.
        n_points: points per curve.
        max_gap_mm: the longest empty stretch along z, in mm, that does not split the spine.
        min_width_fraction: if > 0, the curves start and end at the first and last rows at least this fraction
            of the median row width wide (e.g. 0.7 drops the partial cuts through tilted end plates); 0 keeps
            every row, so that masks round-trip exactly.
        tail_width_fraction: if > 0, the curves end at the last row at least this fraction of the median width of
            the lowest ``tail_window_mm`` of the mask wide: a segmentation's narrow tail below the column (e.g.
            0.7 drops a DXA mask's run past the S1 body into the sacrum); applied before ``min_width_fraction``.
        tail_window_mm: the height over which that median is taken, mm.

    Returns:
        :class:`BoundaryCurves`, each ``(n_points, 2)`` of ``(x, z)`` mm for a coronal mask (``low`` = right,
        ``high`` = left) or ``(y, z)`` mm for a lateral one (``low`` = posterior, ``high`` = anterior).

    Raises:
        ValueError: the mask is not 2D or has no foreground.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"expected a 2D (W, H) mask, got shape {mask.shape}.")
    component = spine_component(mask, _gap_rows(max_gap_mm, float(spacing[1])))
    return _view_curves(component, spacing, n_points, min_width_fraction, tail_width_fraction, tail_window_mm)


def mask_from_curves(low, high, shape, spacing) -> np.ndarray:
    """Rasterise a pair of boundary curves on a 2D grid: the inverse of :func:`curves_from_mask`.

    A pixel is inside when its centre lies between the two boundaries interpolated (linearly, in z) at its
    row's height, and its row's centre lies between the curves' first and last heights. Comparisons are
    inclusive, with a tolerance of 1 % of a pixel in z to absorb rounding of the curves (e.g. to 0.001 mm).

    Args:
        low, high: ``(N, 2)`` curves of ``(lateral, z)`` mm, the low and high boundary (right/left or
            posterior/anterior), top to bottom (z increasing).
        shape: ``(W, H)`` of the grid.
        spacing: ``(column spacing, row spacing)`` mm of the grid.

    Returns:
        bool array ``(W, H)``.
    """
    low, high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    col_spacing, row_spacing = (float(s) for s in spacing)
    z_rows = np.arange(shape[1]) * row_spacing
    tol = 0.01 * row_spacing
    in_height = (z_rows >= low[0, 1] - tol) & (z_rows <= low[-1, 1] + tol)
    low_at = np.interp(z_rows, low[:, 1], low[:, 0])
    high_at = np.interp(z_rows, high[:, 1], high[:, 0])
    x = np.arange(shape[0])[:, None] * col_spacing
    return (x >= low_at) & (x <= high_at) & in_height


def spine_curves_from_views(coronal: BoundaryCurves, lateral: BoundaryCurves) -> SpineCurves:
    """Assemble :class:`SpineCurves` from a coronal view's curves and a lateral view's curves."""
    return SpineCurves(
        coronal_centre=coronal.centre,
        coronal_right=coronal.low,
        coronal_left=coronal.high,
        sagittal_centre=lateral.centre,
        sagittal_posterior=lateral.low,
        sagittal_anterior=lateral.high,
    )


def curves_from_volume(
    mask, spacing, n_points: int = N_POINTS, max_gap_mm: float = 10.0, min_width_fraction: float = 0.0
) -> VolumeCurves:
    """The six spine curves and the centroid line of a 3D spine mask in the patient volume frame.

    After reducing the mask to its spine component (:func:`spine_component`, in 3D), the coronal curves are
    those of its projection along y (per axial slice, the x extent) and the sagittal curves those of its
    projection along x (per slice, the y extent), both by the rules of :func:`curves_from_mask`; so they are
    what :func:`curves_from_mask` gives on those projections. The centre line is the per-slice centroid
    ``(x, y)`` of the foreground voxel centres, at the same ``n_points`` heights, linearly interpolated over
    slices with no foreground.

    Args:
        mask: ``(X, Y, Z)`` array, axis 0 toward the left, 1 toward anterior, 2 toward the feet; foreground is
            ``> 0``.
        spacing: ``(sx, sy, sz)`` mm.
        n_points: points per curve.
        max_gap_mm: the longest empty stretch along z, in mm, that does not split the spine.
        min_width_fraction: trims partial end slices in each projection, as in :func:`curves_from_mask`.

    Returns:
        :class:`VolumeCurves`: :class:`SpineCurves` (each ``(n_points, 2)`` mm) and the centre line
        ``(n_points, 3)`` of ``(x, y, z)`` mm.

    Raises:
        ValueError: the mask is not 3D or has no foreground.
    """
    mask = np.asarray(mask)
    if mask.ndim != 3:
        raise ValueError(f"expected a 3D (X, Y, Z) mask, got shape {mask.shape}.")
    sx, sy, sz = (float(s) for s in spacing)
    component = spine_component(mask, _gap_rows(max_gap_mm, sz))
    coronal = _view_curves(component.any(axis=1), (sx, sz), n_points, min_width_fraction)
    lateral = _view_curves(component.any(axis=0), (sy, sz), n_points, min_width_fraction)

    count = component.sum(axis=(0, 1))
    slices = np.flatnonzero(count)
    count = count[slices]
    x_mean = np.arange(mask.shape[0]) @ component.sum(axis=1)[:, slices] / count * sx
    y_mean = np.arange(mask.shape[1]) @ component.sum(axis=0)[:, slices] / count * sy
    z = coronal.centre[:, 1]
    centre_line = np.stack([np.interp(z, slices * sz, x_mean), np.interp(z, slices * sz, y_mean), z], axis=1)
    return VolumeCurves(spine_curves_from_views(coronal, lateral), centre_line)
