"""The solid primitives the phantom's bones and organs are made of, in the phantom frame (mm)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

__all__ = ["Rod", "Ellipsoid", "ArcTube"]


@dataclass(frozen=True, eq=False)
class Rod:
    """A straight bone segment with an elliptic cross-section and rounded ends (processes, pedicles, rib necks).

    Args:
        start, end: ``(3,)`` end points of the axis, mm.
        up: ``(3,)`` direction of the cross-section's height axis (made perpendicular to the segment).
        half_thickness, half_height: semi-axes of the cross-section, mm.
    """

    start: np.ndarray
    end: np.ndarray
    up: np.ndarray
    half_thickness: float
    half_height: float

    @classmethod
    def round(cls, start, end, radius: float) -> Rod:
        """A rod of circular section (a tube, a wire, a screw): ``up`` is any direction across it."""
        start, end = np.asarray(start, float), np.asarray(end, float)
        along = end - start
        across = np.eye(3)[int(np.argmin(np.abs(along)))]
        return cls(start, end, np.cross(along, across), float(radius), float(radius))

    def transformed(self, origin, axes) -> Rod:
        """The rod mapped by ``p → origin + axes @ p`` (local → phantom frame)."""
        origin, axes = np.asarray(origin, float), np.asarray(axes, float)
        return replace(
            self, start=origin + axes @ self.start, end=origin + axes @ self.end, up=axes @ np.asarray(self.up, float)
        )


@dataclass(frozen=True, eq=False)
class Ellipsoid:
    """An axis-aligned ellipsoid: ``centre (3,)`` and ``semi_axes (3,)`` mm."""

    centre: np.ndarray
    semi_axes: np.ndarray


@dataclass(frozen=True, eq=False)
class ArcTube:
    """A bone tube along an elliptic arc in a plane (a rib, half the pelvic brim), optionally with a straight neck.

    Points of the arc are ``centre + A cos φ · axes[:, 0] · side + B sin φ · axes[:, 1]`` for φ in ``angles``:
    φ = −90° is the posterior pole, 0 the lateral point on ``side``, +90° the anterior pole. ``axes[:, 2]`` is the
    plane's normal.

    Args:
        name: e.g. ``"rib_left_7"``.
        side: +1 left, −1 right.
        centre: ``(3,)`` centre of the ellipse, mm.
        axes: ``(3, 3)`` columns: lateral (+x) direction, in-plane anterior direction, plane normal.
        semi_axes: ``(A, B)`` lateral and antero-posterior semi-axes, mm.
        angles: ``(φ_start, φ_end)`` radians.
        half_thickness: radial (in-plane) half-thickness of the tube, mm.
        half_height: out-of-plane half-height, mm.
        cortical: cortical shell thickness, mm.
        neck: optional :class:`Rod` joined to the arc's start (a rib's head and neck).
    """

    name: str
    side: float
    centre: np.ndarray
    axes: np.ndarray
    semi_axes: tuple[float, float]
    angles: tuple[float, float]
    half_thickness: float
    half_height: float
    cortical: float
    neck: Rod | None = None

    def point(self, phi: float) -> np.ndarray:
        """The arc's point at elliptic angle ``phi`` (radians), mm."""
        a, b = self.semi_axes
        return self.centre + a * np.cos(phi) * self.side * self.axes[:, 0] + b * np.sin(phi) * self.axes[:, 1]
