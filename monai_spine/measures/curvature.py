"""Tangent angles of spine curves, their turning points, and Stokes' plane of maximum curvature.

Curves are sampled top to bottom (z increasing toward the feet), evenly spaced in z; frames and units are
those of ``docs/frames.md``. Definitions and validation: ``docs/measures.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "DEFAULT_WINDOW_MM",
    "DEFAULT_DEGREE",
    "tangent_angles",
    "turning_points",
    "largest_turn",
    "PlaneOfMaxCurvature",
    "plane_of_max_curvature",
]

DEFAULT_WINDOW_MM = 60.0
"""Length (along z) of the window of the local polynomial fits that give the tangents."""

DEFAULT_DEGREE = 3
"""Degree of the local polynomial fits."""


def _check_curve(curve, dim: int) -> np.ndarray:
    curve = np.asarray(curve, dtype=np.float64)
    if curve.ndim != 2 or curve.shape[1] != dim or curve.shape[0] < 5:
        raise ValueError(f"expected a curve of shape (N >= 5, {dim}), got {curve.shape}.")
    return curve


def _window_points(z: np.ndarray, window_mm: float, degree: int) -> int:
    """The odd number of points closest to ``window_mm`` along ``z``, at least ``degree + 2``, at most all."""
    n = z.shape[0]
    spacing = abs(z[-1] - z[0]) / (n - 1)
    points = int(round(window_mm / spacing)) if spacing > 0 else n
    points = min(max(points, degree + 2), n)
    return points if points % 2 else points - 1


def tangent_angles(curve, window_mm: float = DEFAULT_WINDOW_MM, degree: int = DEFAULT_DEGREE) -> np.ndarray:
    """Tilt of the tangent of a planar curve from the z axis, in degrees, at every point.

    At each point, a polynomial of degree ``degree`` is fitted by least squares to the ``window_mm`` of
    curve around it (one-sided near the ends), in the frame of the window's chord: abscissa along the chord,
    ordinate across it. The tangent is the fit's slope at the point turned back by the chord's tilt. Working
    in the chord frame keeps the fit exact to well under 0.1 degree on circular arcs of any tilt, and a cubic
    follows a turning tangent (an inflection) without bias.

    Args:
        curve: ``(N, 2)`` points ``(lateral, z)`` in mm, top to bottom: ``(x, z)`` coronal or ``(y, z)``
            sagittal.
        window_mm: length of the fitting window along z, mm.
        degree: degree of the local polynomial.

    Returns:
        ``(N,)`` angles ``atan2(d lateral, d z)`` in degrees: positive where the curve runs toward the
        patient's left (coronal) or anterior (sagittal) as it goes down.
    """
    curve = _check_curve(curve, 2)
    n = curve.shape[0]
    m = _window_points(curve[:, 1], window_mm, degree)
    start = np.clip(np.arange(n) - m // 2, 0, n - m)
    window = curve[start[:, None] + np.arange(m)]  # (N, m, 2)
    chord = window[:, -1] - window[:, 0]
    chord /= np.linalg.norm(chord, axis=1, keepdims=True)
    normal = np.stack([chord[:, 1], -chord[:, 0]], axis=1)
    offsets = (window - curve[:, None]) / (window_mm / 2.0)
    u = np.einsum("nmk,nk->nm", offsets, chord)
    v = np.einsum("nmk,nk->nm", offsets, normal)
    powers = np.ones((n, m, degree + 1))  # (N, m, degree + 1): 1, u, u^2, ...
    for k in range(1, degree + 1):
        powers[..., k] = powers[..., k - 1] * u
    transposed = powers.transpose(0, 2, 1)
    coefficients = np.linalg.solve(transposed @ powers, transposed @ v[..., None])[..., 0]
    tangent = chord + coefficients[:, 1:2] * normal
    return np.degrees(np.arctan2(tangent[:, 0], tangent[:, 1]))


def turning_points(angles, min_turn_deg: float) -> np.ndarray:
    """Indices where the tangent angle turns back by at least ``min_turn_deg`` (the ends of curves).

    A zig-zag scan: a running extreme of ``angles`` becomes a turning point once the angle has moved
    back from it by ``min_turn_deg`` or more, so smaller wiggles never split a curve. The first and last
    returned indices are the extremes before the first confirmed move and after the last one. Between two
    consecutive turning points the angle changes by at least ``min_turn_deg``; when the angle never moves
    that much, the indices of its minimum and maximum are returned in order, one sub-threshold span (the
    first and last index when the angle is constant).

    Args:
        angles: ``(N,)`` tangent angles, degrees.
        min_turn_deg: the smallest turn that counts, degrees.

    Returns:
        increasing indices into ``angles``, at least two.
    """
    angles = np.asarray(angles, dtype=np.float64)
    hi = lo = 0
    trend = 0
    pivots: list[int] = []
    extreme = 0
    for i in range(1, angles.shape[0]):
        a = angles[i]
        if trend == 0:
            hi = i if a > angles[hi] else hi
            lo = i if a < angles[lo] else lo
            if angles[hi] - angles[lo] >= min_turn_deg:
                trend = 1 if hi > lo else -1
                pivots.append(min(hi, lo))
                extreme = max(hi, lo)
        elif trend * (a - angles[extreme]) > 0:
            extreme = i
        elif trend * (angles[extreme] - a) >= min_turn_deg:
            pivots.append(extreme)
            trend, extreme = -trend, i
    if trend == 0:
        first, last = sorted((int(np.argmin(angles)), int(np.argmax(angles))))
        return np.array([first, last] if first < last else [0, angles.shape[0] - 1])
    pivots.append(extreme)
    return np.array(pivots)


def largest_turn(angles, min_turn_deg: float) -> tuple[float, int, int]:
    """The largest angle between the tangents at two consecutive turning points.

    Args:
        angles: ``(N,)`` tangent angles, degrees.
        min_turn_deg: see :func:`turning_points`.

    Returns:
        ``(angle_deg, upper_index, lower_index)``, the angle non-negative.
    """
    angles = np.asarray(angles, dtype=np.float64)
    pivots = turning_points(angles, min_turn_deg)
    turns = np.abs(np.diff(angles[pivots]))
    k = int(np.argmax(turns))
    return float(turns[k]), int(pivots[k]), int(pivots[k + 1])


@dataclass(frozen=True)
class PlaneOfMaxCurvature:
    """Stokes' plane of maximum curvature of a 3D curve.

    Attributes:
        angle_deg: orientation of the vertical plane, degrees in ``[0, 180)``, measured about the z axis
            from the sagittal plane toward the patient's left: 0 sagittal, 90 coronal, 45 the plane through
            anterior-left and posterior-right.
        cobb_deg: the Cobb angle of the curve projected onto that plane, degrees.
        upper_index, lower_index: points of the projected curve whose tangents give ``cobb_deg``.
    """

    angle_deg: float
    cobb_deg: float
    upper_index: int
    lower_index: int


def _projected_cobb(
    curve3d: np.ndarray, angle_deg: float, min_turn_deg: float, window_mm: float, degree: int
) -> tuple[float, int, int]:
    """Main Cobb angle of the curve projected onto the vertical plane at ``angle_deg`` from sagittal."""
    beta = np.radians(angle_deg)
    lateral = curve3d[:, 0] * np.sin(beta) + curve3d[:, 1] * np.cos(beta)
    angles = tangent_angles(np.stack([lateral, curve3d[:, 2]], axis=1), window_mm, degree)
    return largest_turn(angles, min_turn_deg)


def plane_of_max_curvature(
    curve3d,
    min_turn_deg: float = 5.0,
    step_deg: float = 2.0,
    tolerance_deg: float = 0.01,
    window_mm: float = DEFAULT_WINDOW_MM,
    degree: int = DEFAULT_DEGREE,
) -> PlaneOfMaxCurvature:
    """The vertical plane onto which the projected curve has the largest Cobb angle (Stokes 1994).

    The projection onto the plane at angle ``b`` from sagittal is the planar curve ``(x sin b + y cos b, z)``;
    its Cobb angle is that of :func:`~.angles.coronal_cobb` (:func:`tangent_angles`, then
    :func:`largest_turn`), so ``b = 90`` gives the coronal Cobb angle and ``b = 0`` the largest sagittal turn.
    ``b`` is scanned over ``[0, 180)`` every ``step_deg``, then refined by golden-section search around the
    best step to ``tolerance_deg``.

    Args:
        curve3d: ``(N, 3)`` points ``(x, y, z)`` in mm, top to bottom.
        min_turn_deg: see :func:`turning_points`.
        step_deg: scan step, degrees.
        tolerance_deg: refinement tolerance, degrees.
        window_mm, degree: tangent fits, see :func:`tangent_angles`.

    Returns:
        the plane's orientation and the projected Cobb angle there.
    """
    curve3d = _check_curve(curve3d, 3)

    def cobb(b: float) -> float:
        return _projected_cobb(curve3d, b, min_turn_deg, window_mm, degree)[0]

    scan = np.arange(0.0, 180.0, step_deg)
    best = float(scan[int(np.argmax([cobb(b) for b in scan]))])
    lo, hi = best - step_deg, best + step_deg
    golden = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = hi - golden * (hi - lo), lo + golden * (hi - lo)
    cobb_a, cobb_b = cobb(a), cobb(b)
    while hi - lo > tolerance_deg:
        if cobb_a >= cobb_b:
            hi, b, cobb_b = b, a, cobb_a
            a = hi - golden * (hi - lo)
            cobb_a = cobb(a)
        else:
            lo, a, cobb_a = a, b, cobb_b
            b = lo + golden * (hi - lo)
            cobb_b = cobb(b)
    angle = (lo + hi) / 2.0
    if cobb(best) > cobb(angle):
        angle = best
    value, upper, lower = _projected_cobb(curve3d, angle, min_turn_deg, window_mm, degree)
    return PlaneOfMaxCurvature(float(angle % 180.0), value, upper, lower)
