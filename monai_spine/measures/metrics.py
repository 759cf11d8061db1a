"""Errors between predicted and true spine curves.

Definitions: ``docs/measures.md``. Array inputs may carry any leading batch dimensions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry.curves import CURVE_NAMES, SpineCurves
from .angles import measure_spine

__all__ = [
    "CurveDistance",
    "lateral_mae",
    "curve_mae_mm",
    "lateral_at_truth_heights",
    "relative_error_percent",
    "curve_distance",
    "spine_errors",
]


def _pair(pred, truth, as_array) -> tuple[np.ndarray, np.ndarray]:
    """Both inputs as float arrays of one shape; :class:`SpineCurves` converted by ``as_array``."""
    pred, truth = (
        np.asarray(as_array(c) if isinstance(c, SpineCurves) else c, dtype=np.float64) for c in (pred, truth)
    )
    if pred.shape != truth.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from truth shape {truth.shape}.")
    return pred, truth


def lateral_mae(pred, truth):
    """Mean absolute error of lateral values point by point, in the normalised height frame.

    Point ``k`` of one curve is compared with point ``k`` of the other, whatever their heights, in the unit
    the values are given in (e.g. crop pixels for the regressor's ``(B, 6, 209)`` outputs).

    Args:
        pred, truth: ``(..., N)`` lateral values, or :class:`SpineCurves` (their six curves' lateral
            coordinates, mm).

    Returns:
        ``(...)`` mean over the points: ``(6,)`` for :class:`SpineCurves`, a float for a single curve.
    """
    pred, truth = _pair(pred, truth, lambda curves: curves.to_array()[..., 0])
    return np.mean(np.abs(pred - truth), axis=-1)[()]


def lateral_at_truth_heights(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Lateral values of ``pred`` ``(M, N, 2)`` at the heights of ``truth``, held constant beyond its ends."""
    out = np.empty(truth.shape[:-1])
    for i, (p, t) in enumerate(zip(pred, truth)):
        order = np.argsort(p[:, 1])
        out[i] = np.interp(t[:, 1], p[order, 1], p[order, 0])
    return out


def curve_mae_mm(pred, truth):
    """Mean absolute lateral error at equal heights, mm.

    The prediction's lateral value is interpolated at each height of the truth (held constant beyond the
    prediction's top and bottom) and compared with the truth's, so that it measures the side-to-side error
    only; errors in height (a spine found too short or too long) show in :func:`curve_distance`.

    Args:
        pred, truth: ``(..., N, 2)`` curves of ``(lateral, z)`` mm, or :class:`SpineCurves` (all six curves,
            in :data:`~monai_spine.geometry.curves.CURVE_NAMES` order).

    Returns:
        ``(...)`` mean over the points; ``(6,)`` for :class:`SpineCurves`; a float for a single curve.
    """
    pred, truth = _pair(pred, truth, SpineCurves.to_array)
    batch = truth.shape[:-2]
    flat_truth = truth.reshape(-1, *truth.shape[-2:])
    lateral = lateral_at_truth_heights(pred.reshape(flat_truth.shape), flat_truth)
    return np.mean(np.abs(lateral - flat_truth[..., 0]), axis=-1).reshape(batch)[()]


def relative_error_percent(pred, truth):
    """:func:`curve_mae_mm` as a percentage of the height of the true curve (its z extent).

    Args:
        pred, truth: as :func:`curve_mae_mm`.

    Returns:
        ``(...)`` percentages, shaped as :func:`curve_mae_mm`'s result.
    """
    _, truth_array = _pair(pred, truth, SpineCurves.to_array)
    height = np.ptp(truth_array[..., 1], axis=-1)
    return (100.0 * curve_mae_mm(pred, truth) / height)[()]


@dataclass(frozen=True)
class CurveDistance:
    """Distances between corresponding points of two curves, mm (floats, or arrays over a batch).

    Attributes:
        mean_mm: mean Euclidean distance of corresponding points.
        max_mm: largest Euclidean distance of corresponding points.
    """

    mean_mm: float | np.ndarray
    max_mm: float | np.ndarray


def curve_distance(pred, truth) -> CurveDistance:
    """Euclidean distances between corresponding points (same index) of two curves.

    Args:
        pred, truth: ``(..., N, D)`` points in mm (3D centre lines ``(x, y, z)``, or planar curves), or
            :class:`SpineCurves`, whose 3D centre lines (:meth:`SpineCurves.curve3d`) are compared.
    """
    pred, truth = _pair(pred, truth, SpineCurves.curve3d)
    distance = np.linalg.norm(pred - truth, axis=-1)
    return CurveDistance(mean_mm=distance.mean(axis=-1)[()], max_mm=distance.max(axis=-1)[()])


SCALAR_MEASURES = (
    "coronal_cobb_deg",
    "coronal_ferguson_deg",
    "thoracic_kyphosis_deg",
    "lumbar_lordosis_deg",
    "plane_of_max_curvature_cobb_deg",
)
"""Measures whose signed error (prediction - truth) :func:`spine_errors` reports."""


def spine_errors(pred: SpineCurves, truth: SpineCurves) -> dict:
    """All errors of one predicted spine against its truth, JSON-serialisable.

    Returns:
        ``curve_mae_mm`` and ``relative_error_percent`` (dicts by curve name), ``mean_curve_mae_mm``,
        ``mean_relative_error_percent``, ``distance3d_mean_mm``, ``distance3d_max_mm`` and
        ``measure_errors``: prediction minus truth for each of :data:`SCALAR_MEASURES`.
    """
    mae = curve_mae_mm(pred, truth)
    relative = relative_error_percent(pred, truth)
    distance = curve_distance(pred, truth)
    measured = measure_spine(pred), measure_spine(truth)
    return {
        "curve_mae_mm": {name: float(v) for name, v in zip(CURVE_NAMES, mae)},
        "relative_error_percent": {name: float(v) for name, v in zip(CURVE_NAMES, relative)},
        "mean_curve_mae_mm": float(np.mean(mae)),
        "mean_relative_error_percent": float(np.mean(relative)),
        "distance3d_mean_mm": float(distance.mean_mm),
        "distance3d_max_mm": float(distance.max_mm),
        "measure_errors": {key: measured[0][key] - measured[1][key] for key in SCALAR_MEASURES},
    }
