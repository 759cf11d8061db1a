"""Two views' spine curves → the 3D centre line and the six curves (``docs/projection.md``, "Reconstruction").

Each view's curves are :class:`~monai_spine.geometry.extract.BoundaryCurves` in **detector pixels**
``(column, row)``, top to bottom. The AP centre line's points are matched to the lateral one along the epipolar
geometry (each AP point's ray, projected into the lateral view, crosses the lateral centre line once: for parallel and
slot-scan views that line is the point's own row, for a cone beam a line through the epipole), the matched pairs are
triangulated (:func:`~monai_spine.projection.geometry.triangulate`) and the 3D line is resampled evenly in z. The
boundaries are the views' boundary offsets from the centre line, demagnified at the line's depth.
"""

from __future__ import annotations

import numpy as np

from monai_spine.geometry import N_POINTS, SpineCurves
from monai_spine.geometry.extract import BoundaryCurves

from .geometry import Projection, triangulate

__all__ = ["RAY_SPAN_MM", "epipolar_match", "centre_line_3d", "curves_3d", "reprojection_errors"]

RAY_SPAN_MM = 100.0
"""Half the length of the piece of each ray projected into the other view to draw its epipolar line, mm."""


ON_LINE_PX = 1e-6
"""A curve vertex this close to an epipolar line (pixels) is on it: the curve's own ends match."""


def _near_point(geometry: Projection) -> np.ndarray:
    """A point ``(3,)`` mm where the views' rays pass close: the isocentre, or 0 for a parallel view."""
    return np.asarray(getattr(geometry, "isocentre", (0.0, 0.0, 0.0)), dtype=np.float64)


def epipolar_match(source: Projection, source_pixels, target: Projection, target_curve) -> np.ndarray:
    """Where each point's epipolar line in the target view crosses a curve there.

    Args:
        source: the view of ``source_pixels`` ``(N, 2)`` (column, row).
        target: the other view; ``target_curve`` ``(M, 2)`` a polyline there, pixels, ordered along the spine.

    Returns:
        ``(N, 2)`` target pixels, NaN where the epipolar line misses the curve (beyond its ends).
    """
    origins, directions = source.back_project(source_pixels)
    middle = np.einsum("ni,ni->n", _near_point(target) - origins, directions)
    ends = [target.project(origins + (middle + t)[:, None] * directions) for t in (-RAY_SPAN_MM, RAY_SPAN_MM)]
    along = ends[1] - ends[0]
    curve = np.asarray(target_curve, dtype=np.float64)
    relative = curve[None, :, :] - ends[0][:, None, :]
    side = (along[:, None, 0] * relative[..., 1] - along[:, None, 1] * relative[..., 0])  # (N, M) cross products
    side /= np.linalg.norm(along, axis=1)[:, None]  # pixels from the line, signed
    side[np.abs(side) < ON_LINE_PX] = 0.0
    crossing = side[:, :-1] * side[:, 1:] <= 0.0
    matched = np.full((len(side), 2), np.nan)
    rows = np.flatnonzero(crossing.any(axis=1))
    segment = crossing[rows].argmax(axis=1)
    low, high = side[rows, segment], side[rows, segment + 1]
    fraction = (low / np.where(low == high, 1.0, low - high))[:, None]  # 0 when the segment lies on the line
    matched[rows] = curve[segment] + fraction * (curve[segment + 1] - curve[segment])
    return matched


def centre_line_3d(ap: Projection, ap_centre, lateral: Projection, lateral_centre,
                   n_points: int = N_POINTS) -> tuple[np.ndarray, float]:
    """The 3D centre line ``(n_points, 3)`` mm, evenly spaced in z over the height both views show, and the share of
    the AP centre line's points that have a match in the lateral view.

    Args:
        ap_centre, lateral_centre: the views' centre lines ``(N, 2)`` / ``(M, 2)`` (column, row) pixels, top to bottom.

    Raises:
        ValueError: fewer than two AP points match (the views show no common height).
    """
    ap_centre = np.asarray(ap_centre, dtype=np.float64)
    lateral_px = epipolar_match(ap, ap_centre, lateral, lateral_centre)
    found = np.isfinite(lateral_px[:, 0])
    if found.sum() < 2:
        raise ValueError("the two views' spines share no height")
    points = triangulate(ap, ap_centre[found], lateral, lateral_px[found])
    points = points[np.argsort(points[:, 2])]
    heights = np.linspace(points[0, 2], points[-1, 2], n_points)
    line = np.stack([np.interp(heights, points[:, 2], points[:, axis]) for axis in (0, 1)] + [heights], axis=1)
    return line, float(found.mean())


def _at_rows(curve: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The columns of a pixel curve ``(M, 2)`` at ``rows`` (linear in row; held at the ends)."""
    order = np.argsort(curve[:, 1])
    return np.interp(rows, curve[order, 1], curve[order, 0])


def _boundaries(geometry: Projection, view: BoundaryCurves, line: np.ndarray) -> list[np.ndarray]:
    """The view's two boundaries around the 3D ``line`` as ``(N, 2)`` (lateral, z) patient mm: their detector
    offsets from the centre line at the line's rows, demagnified at the line's depth."""
    pixels = geometry.project(line)
    scale = geometry.pixel_mm[0] / geometry.magnification(line)[:, 0]
    centre = _at_rows(view.centre, pixels[:, 1])
    return [np.c_[line[:, geometry.column_axis] + (_at_rows(edge, pixels[:, 1]) - centre) * scale, line[:, 2]]
            for edge in (view.low, view.high)]


def curves_3d(ap: Projection, ap_view: BoundaryCurves, lateral: Projection, lateral_view: BoundaryCurves,
              n_points: int = N_POINTS) -> tuple[SpineCurves, float]:
    """The six curves in the patient frame from both views' curves (pixels), and the matched share
    (:func:`centre_line_3d`)."""
    line, matched = centre_line_3d(ap, ap_view.centre, lateral, lateral_view.centre, n_points)
    right, left = _boundaries(ap, ap_view, line)
    posterior, anterior = _boundaries(lateral, lateral_view, line)
    return SpineCurves(line[:, [0, 2]], right, left, line[:, [1, 2]], posterior, anterior), matched


def reprojection_errors(geometry: Projection, line: np.ndarray, centre) -> dict:
    """``{"mean_mm", "max_mm"}``: detector-plane distance, along the rows, from the projected 3D ``line``
    ``(N, 3)`` to the view's centre line ``centre`` ``(M, 2)`` pixels, at the rows the view shows."""
    pixels = geometry.project(line)
    centre = np.asarray(centre, dtype=np.float64)
    inside = (pixels[:, 1] >= centre[:, 1].min() - 0.5) & (pixels[:, 1] <= centre[:, 1].max() + 0.5)
    if not inside.any():
        return {"mean_mm": float("nan"), "max_mm": float("nan")}
    error = np.abs(pixels[inside, 0] - _at_rows(centre, pixels[inside, 1])) * geometry.pixel_mm[0]
    return {"mean_mm": float(error.mean()), "max_mm": float(error.max())}
