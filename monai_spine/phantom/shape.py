"""Spine centre lines from clinical parameters (coronal Cobb angles, thoracic kyphosis, lumbar lordosis).

The centre line is built from tangent-angle profiles in z: in each plane the tangent angle (from the z axis)
turns smoothly (a raised cosine) over a curve's extent and stays constant elsewhere, so the angle between
the end tangents of that curve, its Cobb angle measured by the tangent method, is exactly the requested
value. The lordosis's raised cosine may run on a power of the height (``SpineShape.lordosis_skew``), which moves
its turn toward S1 as in adults. Heights are fractions ``t`` of the spine's length, 0 at the top of C7 and 1 at the
top of S1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

__all__ = [
    "CoronalCurve",
    "SpineShape",
    "PATTERNS",
    "LORDOSIS_SKEW_RANGE",
    "PopulationModel",
    "shape_centre_line",
    "axial_rotation_deg",
    "sample_shape",
]

PATTERNS: dict[str, tuple[tuple[str, str], ...]] = {
    "thoracic": (("T5", "T12"),),
    "thoracolumbar": (("T10", "L2"),),
    "lumbar": (("L1", "L4"),),
    "double_major": (("T5", "T11"), ("T11", "L4")),
}
"""Scoliosis patterns (Lenke/King-like, simplified): the end vertebrae of each structural coronal curve."""

LORDOSIS_SKEW_RANGE = (1.0, 3.0)
"""Allowed range of ``SpineShape.lordosis_skew``."""


@dataclass(frozen=True)
class CoronalCurve:
    """One coronal curve: ``cobb_deg`` > 0 is convex to the patient's right; ``span`` is (start, end) in t."""

    cobb_deg: float
    span: tuple[float, float]

    def __post_init__(self):
        if abs(self.cobb_deg) > 120.0:
            raise ValueError(f"cobb_deg must be within ±120°, got {self.cobb_deg}.")
        _check_span("span", self.span)


def _check_span(name: str, span: tuple[float, float]) -> None:
    start, end = span
    if not 0.0 <= start < end <= 1.0:
        raise ValueError(f"{name} must satisfy 0 <= start < end <= 1, got {(start, end)}.")


@dataclass(frozen=True)
class SpineShape:
    """Clinical parameters of one spine's centre line. Angles in degrees, lengths in mm.

    Args:
        length_mm: height (z extent) from the top of C7 to the top of S1.
        coronal: the coronal curves, top to bottom (none for a straight spine).
        kyphosis_deg: thoracic kyphosis, over ``kyphosis_range``.
        lordosis_deg: lumbar lordosis, over ``lordosis_range``.
        lordosis_skew: the lordosis's raised cosine runs on ``u ** lordosis_skew``, ``u`` the fraction of
            ``lordosis_range`` above the point: 1 turns the tangent symmetrically about the range's middle, which
            leaves 35 % of the lordosis to L4–S1 (the phantom until 2026-12-05); 2 puts 72 % there, 1.5 57 %; in adults
            L4–S1 holds about two thirds of the L1–S1 lordosis (Been & Kalichman, Spine J 2014) and the arc below the
            lordosis's apex turns by the sacral slope (Roussouly et al., Spine 2005).
        rotation_per_cobb: axial rotation of a curve's apical vertebra per degree of its Cobb angle
            (about 0.3–0.5 in adolescent idiopathic scoliosis, e.g. Stokes et al., Spine 1986).
        pattern: name of the scoliosis pattern the curves came from, for the record.
    """

    length_mm: float = 500.0
    coronal: tuple[CoronalCurve, ...] = ()
    kyphosis_deg: float = 40.0
    kyphosis_range: tuple[float, float] = (0.05, 0.6)
    lordosis_deg: float = 50.0
    lordosis_range: tuple[float, float] = (0.6, 1.0)
    lordosis_skew: float = 1.0
    rotation_per_cobb: float = 0.4
    pattern: str = "none"

    def __post_init__(self):
        if not 100.0 <= self.length_mm <= 1000.0:
            raise ValueError(f"length_mm must be in [100, 1000], got {self.length_mm}.")
        for name in ("kyphosis_deg", "lordosis_deg"):
            if abs(getattr(self, name)) > 120.0:
                raise ValueError(f"{name} must be within ±120°, got {getattr(self, name)}.")
        for name in ("kyphosis_range", "lordosis_range"):
            _check_span(name, getattr(self, name))
        if not LORDOSIS_SKEW_RANGE[0] <= self.lordosis_skew <= LORDOSIS_SKEW_RANGE[1]:
            raise ValueError(f"lordosis_skew must be in {list(LORDOSIS_SKEW_RANGE)}, got {self.lordosis_skew}.")
        if not 0.0 <= self.rotation_per_cobb <= 1.0:
            raise ValueError(f"rotation_per_cobb must be in [0, 1], got {self.rotation_per_cobb}.")

    @property
    def cobb_deg(self) -> float:
        """The largest coronal Cobb angle (unsigned), 0 for a straight spine."""
        return max((abs(c.cobb_deg) for c in self.coronal), default=0.0)

    def to_dict(self) -> dict:
        """Plain JSON values, for a study's truth."""
        return {
            "length_mm": self.length_mm,
            "pattern": self.pattern,
            "coronal": [{"cobb_deg": c.cobb_deg, "span": list(c.span)} for c in self.coronal],
            "kyphosis_deg": self.kyphosis_deg,
            "kyphosis_range": list(self.kyphosis_range),
            "lordosis_deg": self.lordosis_deg,
            "lordosis_range": list(self.lordosis_range),
            "lordosis_skew": self.lordosis_skew,
            "rotation_per_cobb": self.rotation_per_cobb,
        }


def _ramp(t: np.ndarray, span: tuple[float, float], skew: float = 1.0) -> np.ndarray:
    """0 before ``span``, 1 after it, a raised cosine of ``u ** skew`` in between, ``u`` the fraction of the span
    (so curvature vanishes at both ends; ``skew`` > 1 moves the turn toward the span's end)."""
    start, end = span
    return 0.5 - 0.5 * np.cos(np.pi * np.clip((t - start) / (end - start), 0.0, 1.0) ** skew)


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


def shape_centre_line(shape: SpineShape, n_points: int = 209, n_fine: int = 4001) -> np.ndarray:
    """The 3D centre line ``(n_points, 3)`` of ``(x, y, z)`` mm, evenly spaced in z from 0 to ``length_mm``.

    x (toward the left) and y (toward anterior) have mean 0; the top and bottom points lie on one vertical line.
    Kyphosis is convex posterior, lordosis convex anterior, a positive Cobb convex to the patient's right.
    """
    z = np.linspace(0.0, shape.length_mm, n_fine)
    t = z / shape.length_mm
    # A convex-right curve runs toward the right (-x) then back: its tangent angle rises by the Cobb angle.
    coronal = sum((np.deg2rad(c.cobb_deg) * _ramp(t, c.span) for c in shape.coronal), np.zeros_like(t))
    # Moving toward the feet, a kyphotic (convex posterior) curve turns the tangent from posterior to
    # anterior, a lordotic (convex anterior) one from anterior to posterior.
    sagittal = np.deg2rad(shape.kyphosis_deg) * _ramp(t, shape.kyphosis_range) - np.deg2rad(
        shape.lordosis_deg
    ) * _ramp(t, shape.lordosis_range, shape.lordosis_skew)
    x = _integrate(np.tan(_balanced(coronal, z)), z)
    y = _integrate(np.tan(_balanced(sagittal, z)), z)
    z_out = np.linspace(0.0, shape.length_mm, n_points)
    curve = np.stack([np.interp(z_out, z, x), np.interp(z_out, z, y), z_out], axis=1)
    curve[:, :2] -= curve[:, :2].mean(axis=0)
    return curve


def axial_rotation_deg(shape: SpineShape, t) -> np.ndarray:
    """Axial rotation of the vertebrae at heights ``t`` (fractions), degrees; positive turns the vertebral body
    toward the patient's left (anterior face toward +x).

    Each coronal curve rotates its vertebrae toward its convexity, most at the apex (a half-sine over the
    curve), by ``rotation_per_cobb × Cobb`` there.
    """
    t = np.asarray(t, dtype=np.float64)
    rotation = np.zeros_like(t)
    for curve in shape.coronal:
        start, end = curve.span
        inside = np.clip((t - start) / (end - start), 0.0, 1.0)
        rotation -= shape.rotation_per_cobb * curve.cobb_deg * np.sin(np.pi * inside)  # convex right → right
    return rotation


@dataclass(frozen=True)
class PopulationModel:
    """Population-like sampling of spine shapes; angles in degrees, following adult/adolescent norms.

    Kyphosis T4–T12 about 40 ± 10° and lordosis L1–S1 about 50 ± 11° in asymptomatic adults (e.g. Bernhardt &
    Bridwell, Spine 1989; Roussouly et al., Spine 2005). A ``scoliosis_share`` of spines carry a structural
    curve of 10–80° in one of :data:`PATTERNS`; the others keep a minor asymmetry (< 10°).

    The ``fixed_*`` values, when set, replace the draws: ``fixed_pattern`` (a key of :data:`PATTERNS`, or
    ``"none"``), ``fixed_cobb_deg`` (the main curve, signed: > 0 convex right), ``fixed_kyphosis_deg``,
    ``fixed_lordosis_deg``.
    """

    kyphosis_mean_sd: tuple[float, float] = (40.0, 10.0)
    lordosis_mean_sd: tuple[float, float] = (50.0, 11.0)
    scoliosis_share: float = 0.35
    major_cobb_range: tuple[float, float] = (10.0, 80.0)
    right_thoracic_share: float = 0.85
    pattern_weights: Mapping[str, float] = field(
        default_factory=lambda: {"thoracic": 0.4, "thoracolumbar": 0.2, "lumbar": 0.15, "double_major": 0.25}
    )
    fixed_pattern: str | None = None
    fixed_cobb_deg: float | None = None
    fixed_kyphosis_deg: float | None = None
    fixed_lordosis_deg: float | None = None

    def __post_init__(self):
        if self.fixed_pattern not in (None, "none", *PATTERNS):
            raise ValueError(f"fixed_pattern must be one of {('none', *PATTERNS)}, got {self.fixed_pattern!r}.")
        if not 0.0 <= self.scoliosis_share <= 1.0:
            raise ValueError(f"scoliosis_share must be in [0, 1], got {self.scoliosis_share}.")


def _clipped_normal(rng: np.random.Generator, mean_sd: tuple[float, float], low: float, high: float) -> float:
    return float(np.clip(rng.normal(*mean_sd), low, high))


def sample_shape(
    rng: np.random.Generator,
    length_mm: float,
    level_spans: Mapping[str, tuple[float, float]],
    model: PopulationModel = PopulationModel(),
    scoliotic: bool | None = None,
) -> SpineShape:
    """Draw one spine shape.

    Args:
        rng: random generator (the only source of randomness).
        length_mm: height from the top of C7 to the top of S1 (from the anatomy).
        level_spans: for each vertebra level (``"T5"``...), its (top, bottom) as fractions t of the length.
        model: the population's distributions.
        scoliotic: force a structural curve (True) or none (False); drawn with ``model.scoliosis_share`` if None.
    """
    if model.fixed_pattern is not None:
        scoliotic = model.fixed_pattern != "none"
    elif scoliotic is None:
        scoliotic = bool(rng.random() < model.scoliosis_share)
    kyphosis = _clipped_normal(rng, model.kyphosis_mean_sd, 10.0, 70.0)
    lordosis = _clipped_normal(rng, model.lordosis_mean_sd, 20.0, 80.0)
    kyphosis = kyphosis if model.fixed_kyphosis_deg is None else model.fixed_kyphosis_deg
    lordosis = lordosis if model.fixed_lordosis_deg is None else model.fixed_lordosis_deg
    junction = level_spans["T12"][1] + rng.uniform(-0.04, 0.04)  # thoracolumbar inflection, about T12–L1
    kyphosis_range = (level_spans["T2"][0] + rng.uniform(-0.02, 0.02), junction)
    lordosis_range = (junction, 1.0)
    if scoliotic:
        names, weights = zip(*model.pattern_weights.items())
        pattern = str(rng.choice(names, p=np.asarray(weights) / sum(weights)))
        major = rng.uniform(*model.major_cobb_range)
        sign = 1.0 if rng.random() < model.right_thoracic_share else -1.0
        pattern = model.fixed_pattern or pattern
        if model.fixed_cobb_deg is not None:
            major, sign = abs(model.fixed_cobb_deg), (1.0 if model.fixed_cobb_deg >= 0 else -1.0)
        cobbs = [sign * major]
        if pattern == "double_major":
            cobbs.append(-sign * major * rng.uniform(0.6, 1.0))  # the compensating lumbar curve
    else:
        pattern = str(rng.choice(list(PATTERNS)))
        cobbs = [rng.uniform(-8.0, 8.0) if model.fixed_cobb_deg is None else model.fixed_cobb_deg]
    # A curve turns between the centres of its end vertebrae, so adjacent curves of a double major meet in the
    # middle of their shared end vertebra.
    middle = {level: 0.5 * (top + bottom) for level, (top, bottom) in level_spans.items()}
    coronal = tuple(
        CoronalCurve(cobb, (middle[top], middle[bottom])) for cobb, (top, bottom) in zip(cobbs, PATTERNS[pattern])
    )
    return SpineShape(
        length_mm=length_mm,
        coronal=coronal,
        kyphosis_deg=kyphosis,
        kyphosis_range=kyphosis_range,
        lordosis_deg=lordosis,
        lordosis_range=lordosis_range,
        rotation_per_cobb=rng.uniform(0.3, 0.5),
        pattern=pattern if scoliotic else "none",
    )
