"""Spine centre lines from clinical parameters (coronal Cobb angle, thoracic kyphosis, lumbar lordosis).

The centre line is built from tangent-angle profiles in z: in each plane the tangent angle (from the z axis)
turns smoothly (a raised cosine) over a curve's extent and stays constant elsewhere, so the angle between the end tangents of
that curve, its Cobb angle measured by the tangent method, is exactly the requested value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

__all__ = ["SpineShape", "centre_line"]


@dataclass(frozen=True)
class SpineShape:
    """Clinical parameters of one spine's centre line. Angles in degrees, lengths in mm.

    Args:
        length_mm: height (z extent) from the top to the bottom of the spine.
        cobb_deg: coronal Cobb angle of the main curve; its sign gives the convexity (positive: convex to the
            patient's right, the common right thoracic curve).
        cobb_range: (start, end) of the main coronal curve as fractions of the height, 0 at the top.
        kyphosis_deg: thoracic kyphosis, over ``kyphosis_range``.
        lordosis_deg: lumbar lordosis, over ``lordosis_range``.
    """

    length_mm: float = 500.0
    cobb_deg: float = 0.0
    cobb_range: tuple[float, float] = (0.15, 0.6)
    kyphosis_deg: float = 40.0
    kyphosis_range: tuple[float, float] = (0.05, 0.6)
    lordosis_deg: float = 50.0
    lordosis_range: tuple[float, float] = (0.6, 1.0)

    def __post_init__(self):
        if not 100.0 <= self.length_mm <= 1000.0:
            raise ValueError(f"length_mm must be in [100, 1000], got {self.length_mm}.")
        for name in ("cobb_deg", "kyphosis_deg", "lordosis_deg"):
            if abs(getattr(self, name)) > 120.0:
                raise ValueError(f"{name} must be within ±120°, got {getattr(self, name)}.")
        for name in ("cobb_range", "kyphosis_range", "lordosis_range"):
            start, end = getattr(self, name)
            if not 0.0 <= start < end <= 1.0:
                raise ValueError(f"{name} must satisfy 0 <= start < end <= 1, got {(start, end)}.")


def _tangent_angle(t: np.ndarray, change_deg: float, span: tuple[float, float]) -> np.ndarray:
    """Tangent angle (radians) turning by ``change_deg`` over ``span`` along a raised cosine, centred on zero.

    The curvature is then zero at both ends of the curve and largest at its apex, as in a real spine.
    """
    start, end = span
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.clip((t - start) / (end - start), 0.0, 1.0))
    return np.deg2rad(change_deg) * (ramp - 0.5)


def _balanced(angle: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Add the constant tilt that puts both ends of the curve on one vertical line (a balanced spine).

    A constant tilt changes no difference of tangent angles, so every Cobb-type angle is kept.
    """

    def drift(tilt: float) -> float:
        return _integrate(np.tan(angle + tilt), z)[-1]

    limit = np.deg2rad(89.0)
    return angle + brentq(drift, -limit - angle.min(), limit - angle.max(), xtol=1e-12)


def _integrate(slope: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Cumulative trapezoid integral of ``slope`` over ``z``, starting at 0."""
    steps = 0.5 * (slope[1:] + slope[:-1]) * np.diff(z)
    return np.concatenate([[0.0], np.cumsum(steps)])


def centre_line(shape: SpineShape, n_points: int = 209, n_fine: int = 4001) -> np.ndarray:
    """The 3D centre line ``(n_points, 3)`` of ``(x, y, z)`` mm, evenly spaced in z from 0 to ``length_mm``.

    x (toward the left) and y (toward anterior) have mean 0; the top and bottom points lie on one vertical line. Kyphosis is convex posterior, lordosis convex
    anterior, a positive Cobb convex to the patient's right (toward -x).
    """
    z = np.linspace(0.0, shape.length_mm, n_fine)
    t = z / shape.length_mm
    coronal = _tangent_angle(t, shape.cobb_deg, shape.cobb_range)
    # Moving toward the feet, a kyphotic (convex posterior) curve turns the tangent from posterior to
    # anterior, a lordotic (convex anterior) one from anterior to posterior.
    sagittal = _tangent_angle(t, shape.kyphosis_deg, shape.kyphosis_range) + _tangent_angle(
        t, -shape.lordosis_deg, shape.lordosis_range
    )
    x = _integrate(np.tan(_balanced(coronal, z)), z)
    y = _integrate(np.tan(_balanced(sagittal, z)), z)
    z_out = np.linspace(0.0, shape.length_mm, n_points)
    curve = np.stack([np.interp(z_out, z, x), np.interp(z_out, z, y), z_out], axis=1)
    curve[:, :2] -= curve[:, :2].mean(axis=0)
    return curve
