"""Clinical angles of a spine: coronal Cobb angles, thoracic kyphosis, lumbar lordosis and their apices.

All angles come from the tangents of the centre lines (:func:`~.curvature.tangent_angles`).
Frames and units: ``docs/frames.md``; definitions, sign conventions and validation: ``docs/measures.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..geometry.curves import SpineCurves
from .curvature import (
    DEFAULT_DEGREE,
    DEFAULT_WINDOW_MM,
    plane_of_max_curvature,
    tangent_angles,
    turning_points,
)

__all__ = [
    "CurveSegment",
    "CoronalCobb",
    "SagittalProfile",
    "apex_index",
    "coronal_cobb",
    "sagittal_profile",
    "measure_spine",
]

KYPHOSIS_LEVELS = ("T4", "T12")
"""Vertebrae whose centre-line tangents bound the thoracic kyphosis when levels are given (SRS)."""

LORDOSIS_LEVELS = ("L1", "S1")
"""Vertebrae whose centre-line tangents bound the lumbar lordosis when levels are given (SRS)."""


CORONAL_SIDES = ("right", "left")
"""Convexity of a coronal curve whose tangent angle increases / decreases downward (x'' > 0 bulges to -x)."""

SAGITTAL_SIDES = ("posterior", "anterior")
"""Convexity of a sagittal curve whose tangent angle increases / decreases downward (y'' > 0 bulges to -y)."""

SACRAL_TURN_MAX_MM = 60.0
"""Tallest kyphotic turn at the lower end of a sagittal centre line, below a lordotic one, that is the sacrum
tilting back (the S1 body is about 30 mm tall) and not a thoracic kyphosis, mm (``docs/measures.md``)."""


@dataclass(frozen=True)
class CurveSegment:
    """One curve of a planar centre line, between the two points whose tangents give its angle.

    Points are ``(lateral, z)`` mm: ``(x, z)`` coronal, ``(y, z)`` sagittal.

    Attributes:
        angle_deg: angle between the tangents at the two end points, degrees, non-negative.
        convexity: side the curve bulges toward: ``"right"`` / ``"left"`` (patient's) for a coronal
            curve, ``"posterior"`` / ``"anterior"`` for a sagittal one.
        upper_index, lower_index: indices of the upper and lower end points.
        apex_index: index of the point farthest from the straight line joining the end points.
        upper_mm, lower_mm, apex_mm: those points, mm.
        ferguson_deg: the Ferguson angle: 180° less the angle at the apex between the lines to the end points
            (Ferguson's method measures the same curve from the apex and end vertebrae's centres).
    """

    angle_deg: float
    convexity: str
    upper_index: int
    lower_index: int
    apex_index: int
    upper_mm: tuple[float, float]
    lower_mm: tuple[float, float]
    apex_mm: tuple[float, float]

    @property
    def ferguson_deg(self) -> float:
        upper, lower = np.subtract(self.upper_mm, self.apex_mm), np.subtract(self.lower_mm, self.apex_mm)
        norms = np.linalg.norm(upper) * np.linalg.norm(lower)
        if norms == 0:
            return 0.0
        return float(180.0 - np.degrees(np.arccos(np.clip(np.dot(upper, lower) / norms, -1.0, 1.0))))

    def to_dict(self) -> dict:
        """Plain JSON-serialisable values, points as ``[lateral, z]`` lists."""
        return {
            "angle_deg": self.angle_deg,
            "convexity": self.convexity,
            "upper_index": self.upper_index,
            "lower_index": self.lower_index,
            "apex_index": self.apex_index,
            "upper_mm": list(self.upper_mm),
            "lower_mm": list(self.lower_mm),
            "apex_mm": list(self.apex_mm),
            "ferguson_deg": self.ferguson_deg,
        }


@dataclass(frozen=True)
class CoronalCobb:
    """Coronal Cobb angles of one spine.

    Attributes:
        main: the curve with the largest Cobb angle (may be below ``min_cobb_deg`` when there is no
            structural curve, e.g. 0 for a straight spine).
        curves: every curve of at least ``min_cobb_deg``, top to bottom (``main`` among them if it is).
    """

    main: CurveSegment
    curves: tuple[CurveSegment, ...]


@dataclass(frozen=True)
class SagittalProfile:
    """Thoracic kyphosis and lumbar lordosis of one spine.

    Attributes:
        kyphosis: the kyphotic curve (convex posterior), or with vertebra levels the T4-T12 span whatever
            its convexity; ``None`` when the centre line has no kyphotic part.
        lordosis: the lordotic curve (convex anterior) below it, or the L1-S1 span; ``None`` when absent.
        method: ``"inflection"`` (end points at the turning points of the tangent) or ``"levels"``
            (end points at given vertebra heights).
    """

    kyphosis: CurveSegment | None
    lordosis: CurveSegment | None
    method: str

    @property
    def kyphosis_deg(self) -> float:
        """Thoracic kyphosis, degrees: positive when convex posterior, 0 when absent."""
        return _signed(self.kyphosis, SAGITTAL_SIDES[0])

    @property
    def lordosis_deg(self) -> float:
        """Lumbar lordosis, degrees: positive when convex anterior, 0 when absent."""
        return _signed(self.lordosis, SAGITTAL_SIDES[1])


def _signed(segment: CurveSegment | None, side: str) -> float:
    """The segment's angle, negative when it bulges away from ``side``."""
    if segment is None:
        return 0.0
    return segment.angle_deg if segment.convexity == side else -segment.angle_deg


def apex_index(curve, upper: int, lower: int) -> int:
    """Index of the point of ``curve[upper:lower + 1]`` farthest from the chord joining its ends.

    Args:
        curve: ``(N, 2)`` points in mm.
        upper, lower: end indices, ``upper <= lower``.
    """
    curve = np.asarray(curve, dtype=np.float64)
    part = curve[upper : lower + 1]
    chord = part[-1] - part[0]
    length = np.hypot(*chord)
    if length == 0.0:
        return int(upper)
    offsets = part - part[0]
    distance = np.abs(chord[0] * offsets[:, 1] - chord[1] * offsets[:, 0]) / length
    return int(upper + np.argmax(distance))


def _point(curve: np.ndarray, index: int) -> tuple[float, float]:
    return float(curve[index, 0]), float(curve[index, 1])


def _segment(curve: np.ndarray, angles: np.ndarray, upper: int, lower: int, sides: tuple[str, str]) -> CurveSegment:
    """The curve between two indices; ``sides[0]`` is the convexity when the tangent angle increases."""
    turn = float(angles[lower] - angles[upper])
    apex = apex_index(curve, upper, lower)
    return CurveSegment(
        angle_deg=abs(turn),
        convexity=sides[0] if turn >= 0 else sides[1],
        upper_index=int(upper),
        lower_index=int(lower),
        apex_index=apex,
        upper_mm=_point(curve, upper),
        lower_mm=_point(curve, lower),
        apex_mm=_point(curve, apex),
    )


def _segments(curve: np.ndarray, angles: np.ndarray, min_turn_deg: float, sides: tuple[str, str]) -> list[CurveSegment]:
    pivots = turning_points(angles, min_turn_deg)
    return [_segment(curve, angles, a, b, sides) for a, b in zip(pivots[:-1], pivots[1:])]


def coronal_cobb(
    centre,
    min_cobb_deg: float = 5.0,
    window_mm: float = DEFAULT_WINDOW_MM,
    degree: int = DEFAULT_DEGREE,
) -> CoronalCobb:
    """Coronal Cobb angles by the tangent method (Cobb 1948) on the coronal centre line.

    The spine is split into curves at the turning points of its tangent angle (the inflection points, where
    the most tilted "end vertebrae" of neighbouring curves meet; :func:`~.curvature.turning_points`); the
    Cobb angle of a curve is the angle between the tangents at its two ends, the largest within it.

    Args:
        centre: ``(N, 2)`` coronal centre line ``(x, z)`` mm, top to bottom.
        min_cobb_deg: smallest Cobb angle of a reported curve, and smallest counter-turn that splits two
            curves, degrees.
        window_mm, degree: tangent fits, see :func:`~.curvature.tangent_angles`.
    """
    centre = np.asarray(centre, dtype=np.float64)
    angles = tangent_angles(centre, window_mm, degree)
    segments = _segments(centre, angles, min_cobb_deg, CORONAL_SIDES)
    main = max(segments, key=lambda s: s.angle_deg)
    return CoronalCobb(main=main, curves=tuple(s for s in segments if s.angle_deg >= min_cobb_deg))


def _levels_profile(sagittal: np.ndarray, angles: np.ndarray, vertebra_z: Mapping[str, float]) -> SagittalProfile:
    """Kyphosis and lordosis between the tangents at given vertebra heights."""
    missing = [name for name in KYPHOSIS_LEVELS + LORDOSIS_LEVELS if name not in vertebra_z]
    if missing:
        raise ValueError(f"vertebra_z lacks the heights of {', '.join(missing)}.")
    for top, bottom in (KYPHOSIS_LEVELS, LORDOSIS_LEVELS):
        if not vertebra_z[top] < vertebra_z[bottom]:
            raise ValueError(f"vertebra_z puts {top} at or below {bottom}; z increases toward the feet.")
    z = sagittal[:, 1]
    order = np.argsort(z)

    def segment(top: str, bottom: str) -> CurveSegment:
        heights = [float(vertebra_z[top]), float(vertebra_z[bottom])]
        tangent = np.interp(heights, z[order], angles[order])
        lateral = np.interp(heights, z[order], sagittal[order, 0])
        upper, lower = (int(np.argmin(np.abs(z - h))) for h in heights)
        turn = float(tangent[1] - tangent[0])
        apex = apex_index(sagittal, upper, lower)
        return CurveSegment(
            angle_deg=abs(turn),
            convexity=SAGITTAL_SIDES[0] if turn >= 0 else SAGITTAL_SIDES[1],
            upper_index=upper,
            lower_index=lower,
            apex_index=apex,
            upper_mm=(float(lateral[0]), heights[0]),
            lower_mm=(float(lateral[1]), heights[1]),
            apex_mm=_point(sagittal, apex),
        )

    return SagittalProfile(kyphosis=segment(*KYPHOSIS_LEVELS), lordosis=segment(*LORDOSIS_LEVELS), method="levels")


def sagittal_profile(
    centre,
    vertebra_z: Mapping[str, float] | None = None,
    min_turn_deg: float = 5.0,
    window_mm: float = DEFAULT_WINDOW_MM,
    degree: int = DEFAULT_DEGREE,
) -> SagittalProfile:
    """Thoracic kyphosis and lumbar lordosis from the sagittal centre line, as clinicians report them.

    Without vertebra heights, the centre line is split at the turning points of its tangent angle
    (as :func:`coronal_cobb`): parts where the angle increases downward are convex posterior (kyphotic),
    parts where it decreases are convex anterior (lordotic). The kyphosis is the largest kyphotic turn, the
    lordosis the largest lordotic turn below it (the largest anywhere if there is no kyphotic part); a
    kyphotic turn at the lower end, below a lordotic one and at most ``SACRAL_TURN_MAX_MM`` tall, is the
    sacrum's and is neither (a lumbar-only field shows little thoracic kyphosis above it). With
    ``vertebra_z``, the kyphosis is the angle between the tangents at the heights of T4 and T12 and the
    lordosis between those at L1 and S1 (SRS). Both are positive for the normal sagittal profile; with
    levels, a reversed curve (e.g. thoracic lordosis) gives a negative angle.

    Args:
        centre: ``(N, 2)`` sagittal centre line ``(y, z)`` mm (y toward anterior), top to bottom.
        vertebra_z: optional heights (z, mm) of ``"T4"``, ``"T12"``, ``"L1"`` and ``"S1"``, e.g. of their
            centres or of the endplates the angle is measured on; a height beyond the curve's ends takes the
            tangent at that end.
        min_turn_deg: smallest counter-turn that splits two curves, degrees.
        window_mm, degree: tangent fits, see :func:`~.curvature.tangent_angles`.
    """
    centre = np.asarray(centre, dtype=np.float64)
    angles = tangent_angles(centre, window_mm, degree)
    if vertebra_z is not None:
        return _levels_profile(centre, angles, vertebra_z)
    segments = _segments(centre, angles, min_turn_deg, SAGITTAL_SIDES)
    if len(segments) > 1 and _is_sacral(*segments[-2:]):
        segments = segments[:-1]
    kyphotic = [s for s in segments if s.convexity == "posterior"]
    kyphosis = max(kyphotic, key=lambda s: s.angle_deg) if kyphotic else None
    below = kyphosis.lower_index if kyphosis is not None else 0
    lordotic = [s for s in segments if s.convexity == "anterior" and s.upper_index >= below]
    lordosis = max(lordotic, key=lambda s: s.angle_deg) if lordotic else None
    return SagittalProfile(kyphosis=kyphosis, lordosis=lordosis, method="inflection")


def _is_sacral(above: CurveSegment, last: CurveSegment) -> bool:
    """Whether the centre line's last turn is the sacral kyphosis below the lumbar lordosis."""
    height_mm = abs(last.lower_mm[1] - last.upper_mm[1])
    return last.convexity == "posterior" and above.convexity == "anterior" and height_mm <= SACRAL_TURN_MAX_MM


def measure_spine(
    curves: SpineCurves,
    vertebra_z: Mapping[str, float] | None = None,
    min_cobb_deg: float = 5.0,
    window_mm: float = DEFAULT_WINDOW_MM,
    degree: int = DEFAULT_DEGREE,
) -> dict:
    """The ``measures`` of ``curves.json``: clinical angles, apices and the plane of maximum curvature.

    Args:
        curves: the spine's curves in mm.
        vertebra_z: optional vertebra heights for the sagittal angles, see :func:`sagittal_profile`.
        min_cobb_deg: smallest reported coronal curve and smallest counter-turn between curves, degrees.
        window_mm, degree: tangent fits, see :func:`~.curvature.tangent_angles`.

    Returns:
        a JSON-serialisable dict (plain floats, ints, strings, lists, ``None``):
        ``coronal_cobb_deg`` (main curve), ``coronal_ferguson_deg`` (its Ferguson angle), ``coronal_apex_mm``
        ``[x, z]``, ``coronal_curves`` (one
        :meth:`CurveSegment.to_dict` per curve of at least ``min_cobb_deg``, top to bottom, with ``"main"``),
        ``thoracic_kyphosis_deg``, ``lumbar_lordosis_deg``, ``kyphosis_apex_mm`` and ``lordosis_apex_mm``
        ``[y, z]`` (``None`` when absent), ``kyphosis`` and ``lordosis`` (segment dicts or ``None``),
        ``sagittal_method``, ``plane_of_max_curvature_deg`` (from sagittal, toward the patient's left) and
        ``plane_of_max_curvature_cobb_deg``.
    """
    fit = {"window_mm": window_mm, "degree": degree}
    cobb = coronal_cobb(curves.coronal_centre, min_cobb_deg, **fit)
    profile = sagittal_profile(curves.sagittal_centre, vertebra_z, min_cobb_deg, **fit)
    plane = plane_of_max_curvature(curves.curve3d(), min_cobb_deg, **fit)
    return {
        "coronal_cobb_deg": cobb.main.angle_deg,
        "coronal_ferguson_deg": cobb.main.ferguson_deg,
        "coronal_apex_mm": list(cobb.main.apex_mm),
        "coronal_curves": [{**c.to_dict(), "main": c is cobb.main} for c in cobb.curves],
        "thoracic_kyphosis_deg": profile.kyphosis_deg,
        "lumbar_lordosis_deg": profile.lordosis_deg,
        "kyphosis_apex_mm": list(profile.kyphosis.apex_mm) if profile.kyphosis else None,
        "lordosis_apex_mm": list(profile.lordosis.apex_mm) if profile.lordosis else None,
        "kyphosis": profile.kyphosis.to_dict() if profile.kyphosis else None,
        "lordosis": profile.lordosis.to_dict() if profile.lordosis else None,
        "sagittal_method": profile.method,
        "plane_of_max_curvature_deg": plane.angle_deg,
        "plane_of_max_curvature_cobb_deg": plane.cobb_deg,
    }
