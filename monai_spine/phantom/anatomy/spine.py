"""Adult spine and torso anatomy of the digital phantom: the level table, vertebra placement and body parts.

Everything here is geometry: positions, frames and sizes in mm in the **phantom frame** (``grid.py``: x toward the
patient's left, y anterior, z toward the feet). :mod:`monai_spine.phantom.raster` turns an :class:`Anatomy` into
material volume fractions. The values and their literature sources are listed in ``docs/phantom_anatomy.md``.

**Vertebra frame.** Each vertebra has a local frame whose columns are its *left*, *anterior* and *inferior* unit
vectors. *Inferior* is the centre line's tangent (toward the feet); *anterior* is the phantom's y made
perpendicular to it, then turned about the inferior axis by the level's axial rotation. **Positive axial rotation
turns the vertebral body toward the patient's left** (the anterior face toward +x, the spinous process toward the
patient's right), the convention of :func:`monai_spine.phantom.shape.axial_rotation_deg`; viewed from the head it is
a clockwise turn of the body. In local coordinates ``(u, v, w)`` = (left, anterior, inferior) mm the body centre is
the origin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace

import numpy as np
from scipy.interpolate import PchipInterpolator

__all__ = [
    "LEVELS",
    "SPINE_LEVELS",
    "VERTEBRA_LABELS",
    "LevelDims",
    "LEVEL_DIMS",
    "level_label",
    "spine_length_mm",
    "level_spans",
    "vertebra_axes",
    "Vertebra",
    "Disc",
    "Rod",
    "PosteriorElements",
    "posterior_elements",
    "place_vertebrae",
    "place_discs",
    "Sacrum",
    "place_sacrum",
    "Body",
    "sample_body",
    "Torso",
    "Thorax",
    "Lung",
    "Ellipsoid",
    "ArcTube",
    "IliacWing",
    "HipBone",
    "Femur",
    "Anatomy",
    "build_anatomy",
]

LEVELS = ("C7",) + tuple(f"T{i}" for i in range(1, 13)) + tuple(f"L{i}" for i in range(1, 6)) + ("sacrum",)
"""The phantom's levels, top to bottom: C7, T1–T12, L1–L5 and the sacrum."""

VERTEBRA_LABELS = {("sacrum" if name == "sacrum" else f"vertebrae_{name}"): i + 1 for i, name in enumerate(LEVELS)}
"""TotalSegmentator v2 label names → integer labels 1…19, top to bottom (0 is background)."""


def level_label(level: str) -> int:
    """The integer label of a level name (``"C7"``, ``"T1"`` … ``"L5"``, ``"sacrum"``)."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {', '.join(LEVELS)}.")
    return LEVELS.index(level) + 1


@dataclass(frozen=True)
class LevelDims:
    """Dimensions of one vertebral level, mm (angles in degrees). See ``docs/phantom_anatomy.md``.

    Args:
        body_height: mean of the anterior and posterior vertebral body heights.
        endplate_width: lateral width of the endplates.
        endplate_depth: antero-posterior depth of the endplates.
        disc_height: mean height of the intervertebral disc below this level (0 for the sacrum).
        pedicle_width, pedicle_height: the pedicle's outer width (lateral) and height.
        pedicle_length: from the posterior wall of the body to the lamina.
        canal_width, canal_depth: the spinal canal's lateral and antero-posterior diameters.
        transverse_span: tip-to-tip width of the transverse processes (the alae for the sacrum).
        transverse_angle_deg: backward sweep of the transverse processes from the frontal plane.
        spinous_length: from the lamina to the spinous process tip.
        spinous_inclination_deg: downward slope of the spinous process from the local posterior axis.
        spinous_height: cranio-caudal height of the spinous process.
        lamina_thickness: thickness of the lamina (posterior arch).
        process_radius: half-thickness of the transverse processes.
        cortical: thickness of the vertebral body's cortical shell.
    """

    body_height: float
    endplate_width: float
    endplate_depth: float
    disc_height: float
    pedicle_width: float
    pedicle_height: float
    pedicle_length: float
    canal_width: float
    canal_depth: float
    transverse_span: float
    transverse_angle_deg: float
    spinous_length: float
    spinous_inclination_deg: float
    spinous_height: float
    lamina_thickness: float
    process_radius: float
    cortical: float

    ANGLES = ("transverse_angle_deg", "spinous_inclination_deg")

    def scaled(self, factor: float) -> LevelDims:
        """All lengths multiplied by ``factor`` (angles kept)."""
        return self.varied({f.name: factor for f in fields(self) if f.name not in self.ANGLES})

    def varied(self, factors: dict[str, float]) -> LevelDims:
        """Fields multiplied by ``factors`` (name → factor); the others kept."""
        return replace(self, **{name: getattr(self, name) * f for name, f in factors.items()})


# Columns: body height, endplate width, endplate depth, disc below, pedicle width, height, length, canal width,
# depth, transverse span, transverse angle, spinous length, inclination, spinous height, lamina, process radius,
# cortical shell. Thoracic body/endplate/pedicle/canal/transverse: Panjabi et al. 1991 (Spine 16:888); lumbar:
# Panjabi et al. 1992 (Spine 17:299) and Zhou et al. 2000 (Eur Spine J 9:242); C7: Panjabi et al. 1991 (Spine
# 16:861); discs: Busscher et al. 2010 (Eur Spine J 19:1104) thoracic, Pooni et al. 1986 / Twomey & Taylor 1985
# lumbar; lamina: Egwu et al. 2019; cortical shell: Silva et al. 1994, Ritzel et al. 1997; sacrum (S1 row):
# Gray's Anatomy (41st ed.), Zhou et al. 2000.
_TABLE = {
    #        body  epW   epD  disc  pdW  pdH  pdL  cnW  cnD  tpS tpA  spL spI spH  lam  prR  cort
    "C7": (14.0, 24.0, 16.5, 5.0, 6.5, 7.5, 12.0, 24.0, 14.5, 72.0, 10, 42.0, 25, 9.0, 5.0, 4.0, 0.6),
    "T1": (15.0, 27.0, 16.5, 4.0, 8.0, 9.5, 13.0, 21.0, 14.5, 78.0, 25, 45.0, 30, 9.0, 6.0, 5.0, 0.6),
    "T2": (16.0, 27.5, 17.5, 4.0, 6.5, 11.0, 13.0, 17.0, 15.0, 72.0, 25, 44.0, 40, 9.0, 6.5, 5.0, 0.6),
    "T3": (16.5, 27.5, 19.0, 4.2, 5.0, 11.5, 13.0, 15.5, 15.0, 68.0, 25, 42.0, 50, 9.0, 6.5, 5.0, 0.55),
    "T4": (17.0, 28.0, 20.5, 4.4, 4.5, 11.5, 13.0, 15.0, 15.5, 66.0, 25, 40.0, 55, 9.0, 6.5, 5.0, 0.55),
    "T5": (17.5, 29.0, 22.0, 4.6, 4.7, 11.5, 14.0, 15.0, 15.5, 64.0, 25, 39.0, 60, 9.0, 6.5, 5.0, 0.55),
    "T6": (18.0, 30.5, 24.0, 4.8, 5.0, 12.0, 14.0, 15.0, 16.0, 63.0, 25, 38.0, 63, 9.0, 7.0, 5.0, 0.5),
    "T7": (18.5, 31.5, 25.0, 5.0, 5.2, 12.0, 14.0, 15.0, 16.0, 62.0, 25, 38.0, 65, 9.0, 7.0, 5.0, 0.5),
    "T8": (19.0, 33.0, 26.0, 5.2, 5.6, 12.5, 14.0, 15.0, 16.0, 60.0, 25, 37.0, 63, 9.0, 7.0, 5.0, 0.5),
    "T9": (20.0, 35.0, 27.0, 5.5, 6.0, 13.0, 15.0, 15.5, 16.0, 58.0, 25, 35.0, 55, 10.0, 7.3, 5.0, 0.5),
    "T10": (20.5, 37.0, 28.0, 6.0, 6.6, 14.0, 15.0, 16.5, 16.0, 56.0, 20, 33.0, 45, 12.0, 7.3, 5.0, 0.5),
    "T11": (21.5, 39.0, 29.0, 6.5, 7.8, 16.0, 16.0, 18.5, 16.5, 54.0, 15, 31.0, 30, 14.0, 7.3, 4.5, 0.45),
    "T12": (23.0, 41.0, 30.0, 7.5, 8.0, 16.0, 16.0, 21.5, 17.0, 52.0, 10, 30.0, 20, 16.0, 7.5, 4.5, 0.45),
    "L1": (25.0, 42.5, 33.0, 9.0, 8.5, 15.0, 18.0, 23.0, 19.0, 71.0, 5, 30.0, 10, 18.0, 7.5, 4.0, 0.4),
    "L2": (26.0, 44.5, 34.0, 10.0, 9.0, 14.5, 18.0, 23.5, 18.0, 77.0, 5, 30.0, 8, 19.0, 7.5, 4.0, 0.4),
    "L3": (26.5, 46.0, 35.0, 10.5, 10.5, 14.0, 18.0, 24.0, 17.5, 88.0, 5, 30.0, 5, 19.0, 7.5, 4.0, 0.4),
    "L4": (26.0, 48.0, 35.0, 11.0, 12.5, 13.5, 18.0, 24.0, 18.0, 85.0, 5, 28.0, 5, 18.0, 7.5, 4.0, 0.4),
    "L5": (25.0, 50.0, 35.0, 11.0, 16.0, 14.0, 18.0, 26.0, 18.0, 92.0, 5, 25.0, 5, 16.0, 7.5, 4.5, 0.4),
    "sacrum": (28.0, 50.0, 32.0, 0.0, 18.0, 20.0, 18.0, 30.0, 15.0, 110.0, 0, 15.0, 30, 12.0, 8.0, 6.0, 0.5),
}

LEVEL_DIMS: dict[str, LevelDims] = {name: LevelDims(*row) for name, row in _TABLE.items()}
"""The adult reference dimensions per level (scale 1), mm; the sacrum's row describes S1."""

POSTERIOR_CORTICAL_MM = 1.0
"""Cortical thickness of the posterior elements, processes, ribs' necks (about 1 mm, e.g. Panjabi et al. 1991)."""

LEVEL_VARIATION_SD = 0.03
"""Relative SD of each dimension of each level (between-subject SDs are about 5–10 % in Panjabi et al. 1991/1992,
part of which is overall size, carried by the skeletal scale)."""

SPINE_LEVELS = LEVELS[:-1]
"""The mobile levels C7…L5: their bodies and the discs below them make the spine column and its centre line."""

_HEIGHT_FIELDS = ("body_height", "disc_height")
_MIN_STRETCH, _MAX_STRETCH = 0.7, 1.5


def spine_length_mm(scale: float = 1.0) -> float:
    """Length of the spine column from the top of C7 to the top of S1 (bodies and discs), mm.

    This is the arc length the centre line needs: set ``SpineShape.length_mm`` from it (the centre line's z extent is
    shorter than its arc length by the curvature's few %, which :func:`place_vertebrae` absorbs).
    """
    _check_scale(scale)
    return scale * sum(LEVEL_DIMS[n].body_height + LEVEL_DIMS[n].disc_height for n in SPINE_LEVELS)


def level_spans() -> dict[str, tuple[float, float]]:
    """Each mobile level's (top, bottom) as fractions ``t`` of :func:`spine_length_mm`: its body and the disc below.

    The bottom of a level is the top of the next one; C7 starts at 0 and L5 (with the L5/S1 disc) ends at 1. The
    fractions do not depend on the scale (the skeleton scales uniformly).
    """
    spans, top, total = {}, 0.0, spine_length_mm(1.0)
    for name in SPINE_LEVELS:
        step = (LEVEL_DIMS[name].body_height + LEVEL_DIMS[name].disc_height) / total
        spans[name] = (top, min(top + step, 1.0))
        top += step
    return spans


def _check_scale(scale: float) -> None:
    if not (np.isfinite(scale) and 0.5 <= scale <= 2.0):
        raise ValueError(f"scale must be in [0.5, 2.0] (1 = reference adult), got {scale}.")


def vertebra_axes(tangent, rotation_deg: float = 0.0) -> np.ndarray:
    """The frame ``(3, 3)`` whose columns are the local left, anterior and inferior unit vectors.

    Args:
        tangent: ``(3,)`` direction of the centre line toward the feet (the inferior axis).
        rotation_deg: axial rotation; positive turns the anterior axis toward the patient's left (+x).
    """
    t = np.asarray(tangent, dtype=np.float64)
    t = t / np.linalg.norm(t)
    anterior = np.array([0.0, 1.0, 0.0]) - t[1] * t
    anterior /= np.linalg.norm(anterior)
    left = np.cross(anterior, t)
    angle = np.deg2rad(rotation_deg)
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * left - s * anterior, c * anterior + s * left, t], axis=1)


@dataclass(frozen=True, eq=False)
class Vertebra:
    """One placed vertebra (or the sacrum).

    Args:
        name: level name (``"T7"``, ``"sacrum"``).
        label: integer label (:data:`VERTEBRA_LABELS`).
        centre: ``(3,)`` body centre, mm (on the centre line, midway between the endplates along it).
        axes: ``(3, 3)`` columns = local left, anterior, inferior unit vectors (module docstring).
        dims: this vertebra's dimensions (scaled, varied; ``body_height`` is the placed height along the line).
        superior_endplate, inferior_endplate: ``(3,)`` centres of the endplates, mm.
        superior_normal, inferior_normal: ``(3,)`` unit normals of the endplate planes, pointing toward the feet.
        rotation_deg: the axial rotation applied.
    """

    name: str
    label: int
    centre: np.ndarray
    axes: np.ndarray
    dims: LevelDims
    superior_endplate: np.ndarray
    inferior_endplate: np.ndarray
    superior_normal: np.ndarray
    inferior_normal: np.ndarray
    rotation_deg: float

    def to_world(self, local) -> np.ndarray:
        """Local ``(..., 3)`` (left, anterior, inferior) mm → phantom-frame points ``(..., 3)`` mm."""
        return self.centre + np.asarray(local, dtype=np.float64) @ self.axes.T


@dataclass(frozen=True, eq=False)
class Disc:
    """An intervertebral disc between two endplate planes.

    Args:
        name: ``"T7/T8"`` style; the lowest is ``"L5/S1"``.
        centre: ``(3,)`` midpoint of the two endplate centres, mm.
        axes: ``(3, 3)`` frame at the disc (left, anterior, inferior columns), rotation the mean of its neighbours'.
        superior_point, superior_normal: the upper vertebra's inferior endplate (centre, normal toward the feet).
        inferior_point, inferior_normal: the lower vertebra's superior endplate.
        width, depth: ``(top, bottom)`` lateral and AP diameters, mm, those of the adjacent endplates.
    """

    name: str
    centre: np.ndarray
    axes: np.ndarray
    superior_point: np.ndarray
    superior_normal: np.ndarray
    inferior_point: np.ndarray
    inferior_normal: np.ndarray
    width: tuple[float, float]
    depth: tuple[float, float]


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

    def transformed(self, origin, axes) -> Rod:
        """The rod mapped by ``p → origin + axes @ p`` (local → phantom frame)."""
        origin, axes = np.asarray(origin, float), np.asarray(axes, float)
        return replace(
            self, start=origin + axes @ self.start, end=origin + axes @ self.end, up=axes @ np.asarray(self.up, float)
        )


@dataclass(frozen=True, eq=False)
class PosteriorElements:
    """The posterior elements of a vertebra in its local frame (u left, v anterior, w inferior; mm).

    Args:
        canal_centre: ``(v, w)`` of the spinal canal's axis (u = 0); the canal runs along w.
        canal_semi_axes: ``(u, v)`` semi-axes of the canal's elliptic cross-section.
        arch_semi_axes: ``(u, v)`` outer semi-axes of the posterior arch (laminae) around the canal; the arch is the
            part of that ellipse behind the canal centre, minus the canal.
        arch_w: ``(top, bottom)`` w extent of the arch.
        pedicles, pillars, transverse: ``(left, right)`` pedicles, articular pillars (superior and inferior
            articular processes) and transverse processes; a transverse process's ``end`` is its tip.
        spinous: the spinous process.
    """

    canal_centre: tuple[float, float]
    canal_semi_axes: tuple[float, float]
    arch_semi_axes: tuple[float, float]
    arch_w: tuple[float, float]
    pedicles: tuple[Rod, Rod]
    pillars: tuple[Rod, Rod]
    transverse: tuple[Rod, Rod]
    spinous: Rod

    @property
    def rods(self) -> tuple[Rod, ...]:
        """Every rod: pedicles, pillars, transverse processes, spinous process."""
        return self.pedicles + self.pillars + self.transverse + (self.spinous,)


PEDICLE_LEVEL = -0.15
"""w of the pedicles, transverse processes and rib heads as a fraction of the body height (upper part of the body)."""

ARCH_SPAN = (-0.35, 0.5)
"""w extent of the posterior arch as fractions of the body height (the laminae slope down and overlap below)."""


def posterior_elements(dims: LevelDims) -> PosteriorElements:
    """Pedicles, arch, articular pillars and processes of a vertebra with ``dims``, in its local frame."""
    h, b = dims.body_height, dims.endplate_depth / 2
    v_canal = -b - dims.canal_depth / 2
    u_pedicle = dims.canal_width / 2 + dims.pedicle_width / 2
    w_pedicle = PEDICLE_LEVEL * h
    up, anterior = np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0])
    arch_v = dims.canal_depth / 2 + dims.lamina_thickness
    reach = dims.transverse_span / 2 - dims.process_radius - u_pedicle
    back = reach * np.tan(np.deg2rad(dims.transverse_angle_deg))
    pillar_r = 0.6 * dims.lamina_thickness
    pedicles, pillars, transverse = [], [], []
    for side in (1.0, -1.0):
        u = side * u_pedicle
        pedicles.append(
            Rod(np.array([u, -b + 2.0, w_pedicle]), np.array([u, -b - dims.pedicle_length, w_pedicle]), up,
                dims.pedicle_width / 2, dims.pedicle_height / 2)
        )
        pillars.append(
            Rod(np.array([u, v_canal, ARCH_SPAN[0] * h - 3.0]), np.array([u, v_canal, ARCH_SPAN[1] * h + 3.0]),
                anterior, pillar_r, pillar_r)
        )
        transverse.append(
            Rod(np.array([u, v_canal, w_pedicle]), np.array([u + side * reach, v_canal - back, w_pedicle]), up,
                dims.process_radius, dims.process_radius)
        )
    slope = np.deg2rad(dims.spinous_inclination_deg)
    start = np.array([0.0, v_canal - arch_v + dims.lamina_thickness / 2, 0.1 * h])
    end = start + dims.spinous_length * np.array([0.0, -np.cos(slope), np.sin(slope)])
    return PosteriorElements(
        canal_centre=(v_canal, 0.0),
        canal_semi_axes=(dims.canal_width / 2, dims.canal_depth / 2),
        arch_semi_axes=(dims.canal_width / 2 + dims.pedicle_width, arch_v),
        arch_w=(ARCH_SPAN[0] * h, ARCH_SPAN[1] * h),
        pedicles=tuple(pedicles),
        pillars=tuple(pillars),
        transverse=tuple(transverse),
        spinous=Rod(start, end, up, dims.lamina_thickness / 2, dims.spinous_height / 2),
    )


class _CentrePath:
    """A polyline ``(M, 3)`` parameterised by arc length: points and unit tangents at any arc length (mm)."""

    def __init__(self, points):
        points = np.asarray(points, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != 3 or len(points) < 3:
            raise ValueError(f"centre_line_fine must be (M, 3) with M >= 3, got shape {points.shape}.")
        if not np.isfinite(points).all():
            raise ValueError("centre_line_fine has non-finite values.")
        steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
        if (steps <= 0).any():
            raise ValueError("centre_line_fine has repeated consecutive points.")
        if (np.diff(points[:, 2]) <= 0).any():
            raise ValueError("centre_line_fine must run from head to feet (z increasing).")
        self.points = points
        self.s = np.concatenate([[0.0], np.cumsum(steps)])
        tangents = np.gradient(points, self.s, axis=0)
        self.tangents = tangents / np.linalg.norm(tangents, axis=1, keepdims=True)

    @property
    def length(self) -> float:
        return float(self.s[-1])

    def point(self, s: float) -> np.ndarray:
        return np.array([np.interp(s, self.s, self.points[:, k]) for k in range(3)])

    def tangent(self, s: float) -> np.ndarray:
        t = np.array([np.interp(s, self.s, self.tangents[:, k]) for k in range(3)])
        return t / np.linalg.norm(t)


RotationSpec = Callable[[np.ndarray], np.ndarray] | np.ndarray | float | None


def _rotation_function(axial_rotation_deg: RotationSpec, path: _CentrePath) -> Callable[[float], float]:
    """Turn a rotation given as a callable of z (mm), per-point array or constant into a function of z."""
    if axial_rotation_deg is None:
        return lambda z: 0.0
    if callable(axial_rotation_deg):
        return lambda z: float(np.asarray(axial_rotation_deg(np.asarray([z])), dtype=np.float64).reshape(-1)[0])
    values = np.asarray(axial_rotation_deg, dtype=np.float64)
    if values.ndim == 0:
        return lambda z: float(values)
    if values.shape != (len(path.points),):
        raise ValueError(
            f"axial_rotation_deg array must have one value per centre-line point ({len(path.points)}), "
            f"got shape {values.shape}."
        )
    return lambda z: float(np.interp(z, path.points[:, 2], values))


def _level_dims(scale: float, rng: np.random.Generator | None) -> list[LevelDims]:
    """Every level's dimensions scaled by ``scale`` and, with ``rng``, varied by a few % per dimension."""
    dims = []
    for name in LEVELS:
        d = LEVEL_DIMS[name].scaled(scale)
        if rng is not None:
            names = [f.name for f in fields(d) if f.name not in LevelDims.ANGLES]
            noise = np.clip(rng.standard_normal(len(names)), -2.0, 2.0)
            d = d.varied(dict(zip(names, 1.0 + LEVEL_VARIATION_SD * noise)))
        dims.append(d)
    return dims


def place_vertebrae(
    centre_line_fine,
    scale: float = 1.0,
    axial_rotation_deg: RotationSpec = None,
    rng: np.random.Generator | None = None,
) -> list[Vertebra]:
    """Place C7…L5 and the sacrum along a centre line.

    Walking down the centre line by arc length from its first point (the top of C7), each level takes its body
    height then its disc height; every height is multiplied by one common stretch, the centre line's arc length over
    the summed heights, so that the L5/S1 disc ends exactly at the line's last point (the top of S1). Each body
    centre is the midpoint of its body's stretch of line, its inferior axis the tangent there.

    Args:
        centre_line_fine: ``(M, 3)`` centre line, mm, top (z smallest) to bottom, finely sampled.
        scale: skeletal size (1 = the reference adult of :data:`LEVEL_DIMS`), in [0.5, 2].
        axial_rotation_deg: rotation (degrees, sign in the module docstring) as a callable of z (mm), an array with
            one value per centre-line point, a constant, or ``None`` for none.
        rng: per-level variation of every dimension by about :data:`LEVEL_VARIATION_SD`; ``None`` for none.

    Returns:
        19 :class:`Vertebra`, C7 first, the sacrum last.

    Raises:
        ValueError: bad centre line, scale or rotation array, or a centre line whose arc length is too far from
            :func:`spine_length_mm` (stretch outside [0.7, 1.5]).
    """
    _check_scale(scale)
    path = _CentrePath(centre_line_fine)
    rotation_at = _rotation_function(axial_rotation_deg, path)
    dims = _level_dims(scale, rng)
    mobile = dims[:-1]
    stretch = path.length / sum(d.body_height + d.disc_height for d in mobile)
    if not _MIN_STRETCH <= stretch <= _MAX_STRETCH:
        raise ValueError(
            f"the centre line's arc length ({path.length:.1f} mm) does not fit the spine at scale {scale} "
            f"({path.length / stretch:.1f} mm); set SpineShape.length_mm from spine_length_mm(scale)."
        )
    vertebrae, s = [], 0.0
    for name, d in zip(SPINE_LEVELS, mobile):
        d = d.varied({k: stretch for k in _HEIGHT_FIELDS})
        top, bottom = s, s + d.body_height
        centre = path.point((top + bottom) / 2)
        rotation = rotation_at(centre[2])
        vertebrae.append(
            Vertebra(
                name=name,
                label=level_label(name),
                centre=centre,
                axes=vertebra_axes(path.tangent((top + bottom) / 2), rotation),
                dims=d,
                superior_endplate=path.point(top),
                inferior_endplate=path.point(bottom),
                superior_normal=path.tangent(top),
                inferior_normal=path.tangent(bottom),
                rotation_deg=rotation,
            )
        )
        s = bottom + d.disc_height
    vertebrae.append(place_sacrum(path.points[-1], path.tangent(path.length), dims[-1], scale).vertebra)
    return vertebrae


def place_discs(vertebrae: list[Vertebra]) -> list[Disc]:
    """The discs between consecutive vertebrae of :func:`place_vertebrae` (C7/T1 … L5/S1)."""
    discs = []
    for upper, lower in zip(vertebrae[:-1], vertebrae[1:]):
        top, bottom = upper.inferior_endplate, lower.superior_endplate
        axis = upper.inferior_normal + lower.superior_normal
        lower_name = "S1" if lower.name == "sacrum" else lower.name
        discs.append(
            Disc(
                name=f"{upper.name}/{lower_name}",
                centre=(top + bottom) / 2,
                axes=vertebra_axes(axis, (upper.rotation_deg + lower.rotation_deg) / 2),
                superior_point=top,
                superior_normal=upper.inferior_normal,
                inferior_point=bottom,
                inferior_normal=lower.superior_normal,
                width=(upper.dims.endplate_width, lower.dims.endplate_width),
                depth=(upper.dims.endplate_depth, lower.dims.endplate_depth),
            )
        )
    return discs


# Sacrum (adult, approximate; e.g. Gray's Anatomy 41st ed.): length, curvature and cross-sections.
SACRAL_LENGTH_MM = 105.0
"""S1 top to the sacral tip along the sacrum's curve (adult mean about 100–110 mm)."""
SACRAL_ARC_DEG = 60.0
"""Total turn of the sacrum's curve, concave anterior."""
SACRAL_EXTRA_TILT_DEG = 10.0
"""Extra posterior tilt of S1 over the centre line's end tangent: the wedge of the L5/S1 disc (about 10°)."""
SACRAL_TIP = {"body_width": 15.0, "body_depth": 10.0, "ala_width": 25.0, "ala_depth": 10.0, "canal_width": 8.0,
              "canal_depth": 4.0}
"""Cross-section sizes (mm) at the sacral tip; at the top they come from the sacrum's :class:`LevelDims`."""
SACRAL_ALA_DEPTH = 45.0
"""Antero-posterior thickness of the lateral masses (alae) at S1, mm."""
SACRAL_ALA_SHIFT = 14.0
"""Posterior offset of the lateral masses' centre from the S1 body's centre, mm."""
SACRAL_ALA_END = 0.7
"""Fraction of the sacral length over which the lateral masses narrow to the tip width."""


@dataclass(frozen=True, eq=False)
class Sacrum:
    """The sacrum: a tapered tube along a circular arc in its sagittal plane.

    The arc starts at ``top`` along ``axes[:, 2]`` and turns toward ``axes[:, 1]`` (anterior) with radius
    ``radius``: concave anterior. Cross-sections (in the arc's normal plane) are ellipses: the fused bodies centred
    on the arc, the lateral masses (alae) ``ala_shift`` behind it, minus the sacral canal behind the bodies.

    Args:
        top: ``(3,)`` centre of the S1 superior endplate (the centre line's last point), mm.
        axes: ``(3, 3)`` left, anterior, inferior unit vectors at the top (no axial rotation).
        length, radius: arc length and radius of the sacral curve, mm.
        body_width, body_depth, ala_width, ala_depth, canal_width, canal_depth: ``(top, tip)`` diameters, mm.
        ala_shift: posterior offset of the alae's centre, mm.
        ala_end: fraction of the length where the alae reach their tip width.
        cortical: cortical shell thickness, mm.
        vertebra: the sacrum as a :class:`Vertebra` record (label, S1 body centre and frame, S1 endplates).
    """

    top: np.ndarray
    axes: np.ndarray
    length: float
    radius: float
    body_width: tuple[float, float]
    body_depth: tuple[float, float]
    ala_width: tuple[float, float]
    ala_depth: tuple[float, float]
    canal_width: tuple[float, float]
    canal_depth: tuple[float, float]
    ala_shift: float
    ala_end: float
    cortical: float
    vertebra: Vertebra

    def point(self, s: float) -> np.ndarray:
        """The arc's point at arc length ``s`` from the top, mm."""
        psi = s / self.radius
        _, anterior, inferior = self.axes.T
        return self.top + self.radius * ((1 - np.cos(psi)) * anterior + np.sin(psi) * inferior)

    def frame(self, s: float) -> np.ndarray:
        """The arc's frame (left, anterior, inferior columns) at arc length ``s``."""
        psi = s / self.radius
        left, anterior, inferior = self.axes.T
        return np.stack(
            [left, np.cos(psi) * anterior - np.sin(psi) * inferior, np.sin(psi) * anterior + np.cos(psi) * inferior],
            axis=1,
        )


def place_sacrum(top, end_tangent, dims: LevelDims, scale: float) -> Sacrum:
    """The sacrum hanging from the centre line's last point ``top`` with the line's ``end_tangent`` there."""
    tangent = np.asarray(end_tangent, dtype=np.float64)
    axes = vertebra_axes(tangent)
    tilt = np.deg2rad(SACRAL_EXTRA_TILT_DEG)  # turn the inferior axis toward posterior about the left axis
    left, anterior, inferior = axes.T
    c, s = np.cos(tilt), np.sin(tilt)
    axes = np.stack([left, c * anterior + s * inferior, c * inferior - s * anterior], axis=1)
    length = SACRAL_LENGTH_MM * scale
    tip = {k: v * scale for k, v in SACRAL_TIP.items()}
    sacrum = Sacrum(
        top=np.asarray(top, dtype=np.float64),
        axes=axes,
        length=length,
        radius=length / np.deg2rad(SACRAL_ARC_DEG),
        body_width=(dims.endplate_width, tip["body_width"]),
        body_depth=(dims.endplate_depth, tip["body_depth"]),
        ala_width=(dims.transverse_span, tip["ala_width"]),
        ala_depth=(SACRAL_ALA_DEPTH * scale, tip["ala_depth"]),
        canal_width=(dims.canal_width, tip["canal_width"]),
        canal_depth=(dims.canal_depth, tip["canal_depth"]),
        ala_shift=SACRAL_ALA_SHIFT * scale,
        ala_end=SACRAL_ALA_END,
        cortical=dims.cortical,
        vertebra=None,  # set below, from the arc
    )
    h = dims.body_height
    vertebra = Vertebra(
        name="sacrum",
        label=level_label("sacrum"),
        centre=sacrum.point(h / 2),
        axes=sacrum.frame(h / 2),
        dims=dims,
        superior_endplate=sacrum.top,
        inferior_endplate=sacrum.point(h),
        superior_normal=sacrum.axes[:, 2],
        inferior_normal=sacrum.frame(h)[:, 2],
        rotation_deg=0.0,
    )
    return replace(sacrum, vertebra=vertebra)


# ---------------------------------------------------------------------------------------------------------------
# Body: torso envelope, thorax, lungs, heart, trachea, ribs, sternum, pelvis.


@dataclass(frozen=True)
class Body:
    """A person's build. Lengths in mm; defaults are an adult of average build (sources: docs/phantom_anatomy.md).

    Args:
        scale: skeletal size, multiplies every skeletal dimension (1 = the reference adult; about stature / 1.72 m).
        neck_half_width, neck_half_depth: half-diameters of the neck above C7.
        shoulder_half_width, shoulder_half_depth: at the level of T2 (shoulder girdle without arms).
        chest_half_width, chest_half_depth: at the level of T7 (chest breadth / depth / 2).
        waist_half_width, waist_half_depth: at the level of L3.
        hip_half_width, hip_half_depth: at the hips (about 8 cm below the top of S1).
        fat_mm: subcutaneous fat thickness at the waist; thinner over the chest and neck.
    """

    scale: float = 1.0
    neck_half_width: float = 60.0
    neck_half_depth: float = 60.0
    shoulder_half_width: float = 175.0
    shoulder_half_depth: float = 95.0
    chest_half_width: float = 155.0
    chest_half_depth: float = 112.0
    waist_half_width: float = 140.0
    waist_half_depth: float = 110.0
    hip_half_width: float = 172.0
    hip_half_depth: float = 112.0
    fat_mm: float = 12.0

    def __post_init__(self):
        _check_scale(self.scale)
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name != "scale" and not (np.isfinite(value) and value > 0):
                raise ValueError(f"Body.{f.name} must be a positive length in mm, got {value}.")
        if self.fat_mm >= 0.5 * min(self.waist_half_depth, self.chest_half_depth):
            raise ValueError(f"Body.fat_mm ({self.fat_mm}) must be less than half the torso's half-depth.")


def sample_body(rng: np.random.Generator) -> Body:
    """A population-like :class:`Body`: skeletal scale about 1 ± 0.06, widths ± 7 %, fat 4–45 mm (log-normal).

    More fat widens and deepens the waist and hips (rough anthropometric trends, e.g. ANSUR II).
    """
    scale = float(np.clip(rng.normal(1.0, 0.06), 0.85, 1.15))
    fat = float(np.clip(12.0 * np.exp(rng.normal(0.0, 0.5)), 4.0, 45.0))
    build = float(np.clip(rng.normal(1.0, 0.07), 0.85, 1.15))
    ref = Body()
    extra = fat - ref.fat_mm

    def size(value: float, fat_gain: float = 0.0) -> float:
        return float(value * scale * build * np.clip(rng.normal(1.0, 0.03), 0.93, 1.07) + fat_gain * extra)

    return Body(
        scale=scale,
        neck_half_width=size(ref.neck_half_width, 0.3),
        neck_half_depth=size(ref.neck_half_depth, 0.3),
        shoulder_half_width=size(ref.shoulder_half_width, 0.5),
        shoulder_half_depth=size(ref.shoulder_half_depth, 0.5),
        chest_half_width=size(ref.chest_half_width, 0.7),
        chest_half_depth=size(ref.chest_half_depth, 0.7),
        waist_half_width=size(ref.waist_half_width, 1.2),
        waist_half_depth=size(ref.waist_half_depth, 1.6),
        hip_half_width=size(ref.hip_half_width, 1.0),
        hip_half_depth=size(ref.hip_half_depth, 1.0),
        fat_mm=fat,
    )


TORSO_EXPONENT = 2.5
"""Superellipse exponent of the torso's cross-section (between an ellipse, 2, and a rounded rectangle)."""
TORSO_STEP_MM = 5.0
"""z step of the tabulated torso and thorax profiles, mm."""
POSTERIOR_DEPTH_MM = {"neck": 50.0, "thoracic": 65.0, "lumbar": 85.0, "sacral": 65.0, "hip": 95.0}
"""Distance from the vertebral body centre back to the muscle surface (under the fat) per region, mm: enough for the
posterior elements and the erector spinae (about 4–6 cm of muscle behind the laminae)."""
FAT_PROFILE = {"neck": 0.5, "shoulder": 0.6, "chest": 0.7, "waist": 1.0, "hip": 1.0}
"""Subcutaneous fat thickness relative to ``Body.fat_mm`` by region."""


@dataclass(frozen=True, eq=False)
class Torso:
    """The torso envelope: per height ``z`` a superellipse cross-section; the outer layer (``fat``) is fat.

    Args:
        z: ``(K,)`` heights, mm, increasing; values are held constant beyond the ends.
        centre_x, centre_y, half_width, half_depth, fat: ``(K,)`` cross-section centre, half-diameters of the skin
            surface and subcutaneous fat thickness at each height, mm.
        exponent: superellipse exponent.
    """

    z: np.ndarray
    centre_x: np.ndarray
    centre_y: np.ndarray
    half_width: np.ndarray
    half_depth: np.ndarray
    fat: np.ndarray
    exponent: float = TORSO_EXPONENT


@dataclass(frozen=True, eq=False)
class Thorax:
    """The inner surface of the rib cage as elliptic cross-sections per height, and the spine's x there.

    Args:
        z: ``(K,)`` heights, mm, increasing (held constant beyond the ends).
        centre_x, centre_y, half_width, half_depth: ``(K,)`` the inner rib-cage ellipse, mm.
        spine_x: ``(K,)`` x of the centre line at each height, mm (the mediastinum is around it).
    """

    z: np.ndarray
    centre_x: np.ndarray
    centre_y: np.ndarray
    half_width: np.ndarray
    half_depth: np.ndarray
    spine_x: np.ndarray


@dataclass(frozen=True, eq=False)
class Ellipsoid:
    """An axis-aligned ellipsoid: ``centre (3,)`` and ``semi_axes (3,)`` mm."""

    centre: np.ndarray
    semi_axes: np.ndarray


@dataclass(frozen=True, eq=False)
class Lung:
    """One lung: the thorax's inner section, on its side of the mediastinum, inside a dome-shaped envelope.

    Args:
        side: +1 left lung, −1 right lung.
        envelope: ellipsoid giving the apex and the diaphragm's dome.
        medial_gap: half-width of the mediastinum around the spine's x, mm.
    """

    side: float
    envelope: Ellipsoid
    medial_gap: float


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


@dataclass(frozen=True, eq=False)
class IliacWing:
    """An iliac wing: a curved plate, part of an elliptic cone's wall around the pelvis axis.

    In the pelvis frame (``axes`` columns: left, anterior, inferior; origin ``centre``) the plate's mid-surface at
    local height ``w`` is the ellipse of semi-axes interpolated from ``top_semi_axes`` (at ``w = 0``, the crest's
    highest point) to ``bottom_semi_axes`` (at ``w = depth``), centred at ``(u, v) = offset``, between elliptic
    angles ``angles`` (−90° posterior, 0 lateral, +90° anterior, mirrored by ``side``). The crest drops by
    ``crest_drop`` toward both ends of the angle range.

    Args:
        side: +1 left, −1 right.
        centre: ``(3,)`` origin of the pelvis frame (S1 top), mm.
        axes: ``(3, 3)`` pelvis frame.
        offset: ``(u, v)`` of the ellipse centre, mm (u sign-mirrored by ``side``).
        top_semi_axes, bottom_semi_axes: ``(a, b)`` mm.
        crest_w: local w of the crest's highest point (negative: above S1), mm.
        depth: height of the plate below its highest point, mm.
        crest_drop: how far the crest falls at the ends of the angle range, mm.
        angles: ``(θ_start, θ_end)`` radians.
        half_thickness: plate half-thickness, mm.
        cortical: cortical thickness, mm.
    """

    side: float
    centre: np.ndarray
    axes: np.ndarray
    offset: tuple[float, float]
    top_semi_axes: tuple[float, float]
    bottom_semi_axes: tuple[float, float]
    crest_w: float
    depth: float
    crest_drop: float
    angles: tuple[float, float]
    half_thickness: float
    cortical: float


@dataclass(frozen=True, eq=False)
class HipBone:
    """One hip bone (os coxae): the iliac wing, half the pelvic brim and the ischial and inferior pubic rami."""

    wing: IliacWing
    brim: ArcTube
    rami: tuple[Rod, ...]


@dataclass(frozen=True, eq=False)
class Femur:
    """The upper femur: the head (a sphere) and the neck and shaft as rods; ``cortical`` mm."""

    head: Ellipsoid
    rods: tuple[Rod, ...]
    cortical: float


@dataclass(frozen=True, eq=False)
class Anatomy:
    """A placed phantom: spine and body parts in the phantom frame, mm.

    Args:
        vertebrae: C7…L5 and the sacrum (:func:`place_vertebrae`).
        discs: C7/T1 … L5/S1.
        sacrum: the sacrum's shape (its :class:`Vertebra` record is ``vertebrae[-1]``).
        torso: the skin envelope and fat layer.
        thorax: the rib cage's inner surface.
        lungs: left and right lung.
        heart: the heart (lean tissue, cut out of the left lung).
        trachea: the air column from the neck to the carina, as a :class:`Rod` (air).
        ribs: 24 ribs, left and right for T1…T12.
        sternum: the sternum, as a :class:`Rod`.
        hips: left and right hip bones.
        femurs: left and right upper femurs.
        body: the build it was made with.
    """

    vertebrae: list[Vertebra]
    discs: list[Disc]
    sacrum: Sacrum
    torso: Torso
    thorax: Thorax
    lungs: tuple[Lung, Lung]
    heart: Ellipsoid
    trachea: Rod
    ribs: list[ArcTube]
    sternum: Rod
    hips: list[HipBone]
    femurs: list[Femur]
    body: Body


def _by_name(vertebrae: list[Vertebra]) -> dict[str, Vertebra]:
    return {v.name: v for v in vertebrae}


class _Line:
    """The centre line as functions of z (clamped at its ends): x(z) and y(z), mm."""

    def __init__(self, centre_line):
        self.z, self.x, self.y = centre_line[:, 2], centre_line[:, 0], centre_line[:, 1]

    def at(self, z):
        return np.interp(z, self.z, self.x), np.interp(z, self.z, self.y)


def _smooth_profile(z_anchor, values, z_out) -> np.ndarray:
    """Monotone-cubic interpolation (PCHIP) of anchor values at ``z_out``, held constant beyond the anchors."""
    return PchipInterpolator(z_anchor, values)(np.clip(z_out, z_anchor[0], z_anchor[-1]))


def _torso(vertebrae: list[Vertebra], line: _Line, body: Body) -> Torso:
    """The torso envelope anchored to the vertebral levels: neck, shoulders (T2), chest (T7), waist (L3), hips."""
    v = _by_name(vertebrae)
    s = body.scale
    z_top = v["C7"].superior_endplate[2]
    z_s1 = v["sacrum"].superior_endplate[2]
    b, back_depth, fat_factor = body, POSTERIOR_DEPTH_MM, FAT_PROFILE

    def mean(first: float, second: float) -> float:
        return 0.5 * (first + second)

    anchors = [  # (z, half width, half depth, posterior depth, fat factor)
        (z_top - 120 * s, b.neck_half_width, b.neck_half_depth, back_depth["neck"], fat_factor["neck"]),
        # the base of the neck, widening into the shoulders
        (z_top - 10 * s, 1.2 * b.neck_half_width, 1.1 * b.neck_half_depth, back_depth["neck"], fat_factor["neck"]),
        (v["T2"].centre[2], b.shoulder_half_width, b.shoulder_half_depth, back_depth["thoracic"],
         fat_factor["shoulder"]),
        (v["T7"].centre[2], b.chest_half_width, b.chest_half_depth, back_depth["thoracic"], fat_factor["chest"]),
        (v["T12"].centre[2], mean(b.chest_half_width, b.waist_half_width), mean(b.chest_half_depth, b.waist_half_depth),
         mean(back_depth["thoracic"], back_depth["lumbar"]), mean(fat_factor["chest"], fat_factor["waist"])),
        (v["L3"].centre[2], b.waist_half_width, b.waist_half_depth, back_depth["lumbar"], fat_factor["waist"]),
        (z_s1, mean(b.waist_half_width, b.hip_half_width), mean(b.waist_half_depth, b.hip_half_depth),
         back_depth["sacral"], fat_factor["hip"]),
        (z_s1 + 80 * s, b.hip_half_width, b.hip_half_depth, back_depth["hip"], fat_factor["hip"]),
        (z_s1 + 300 * s, b.hip_half_width, b.hip_half_depth, back_depth["hip"], fat_factor["hip"]),
    ]
    za, hw, hd, back, fat = (np.array(c, dtype=np.float64) for c in zip(*anchors))
    z = np.arange(za[0], za[-1] + TORSO_STEP_MM, TORSO_STEP_MM)
    fat_z = body.fat_mm * _smooth_profile(za, fat, z)
    _, spine_y = line.at(z)
    half_depth = _smooth_profile(za, hd, z)
    back_y = spine_y - _smooth_profile(za, back, z) * s - fat_z
    x_mid = 0.5 * (line.x[0] + line.x[-1])
    return Torso(
        z=z,
        centre_x=np.full_like(z, x_mid),
        centre_y=back_y + half_depth,
        half_width=_smooth_profile(za, hw, z),
        half_depth=half_depth,
        fat=fat_z,
    )


# Rib cage (per rib 1…12). Relative widths/depths of the rib rings and their slopes: adult CT rib-cage morphometry
# (e.g. Shi et al. 2014, J Biomech 47:2277; Weaver et al. 2014, J Anat 225:246); anterior ends: true ribs 1–7 end at
# costal cartilages near the sternum, 8–10 further lateral, 11–12 float.
RIB_WIDTH_PROFILE = (0.45, 0.62, 0.75, 0.84, 0.90, 0.95, 0.98, 1.0, 1.0, 0.98, 0.95, 0.90)
RIB_DEPTH_PROFILE = (0.58, 0.72, 0.82, 0.89, 0.94, 0.97, 1.0, 1.0, 1.0, 0.98, 0.92, 0.85)
RIB_SLOPE_DEG = (35.0, 32.0, 30.0, 28.0, 27.0, 26.0, 25.0, 24.0, 23.0, 22.0, 20.0, 18.0)
"""Downward slope of each rib's plane toward anterior (the anterior end lies lower than the posterior)."""
RIB_END_DEG = (62.0, 62.0, 60.0, 60.0, 58.0, 56.0, 55.0, 45.0, 35.0, 25.0, -5.0, -30.0)
"""Elliptic angle of each rib's bony anterior end (90° = the sternum; the rest is costal cartilage)."""
RIB_HALF_THICKNESS_MM = 3.5
RIB_HALF_HEIGHT_MM = 6.5
"""Rib cross-section, mm: about 7 mm thick and 13 mm high at mid-shaft (e.g. Mohr et al. 2007)."""
RIB_CORTICAL_MM = 1.0
RIB_POSTERIOR_OFFSET_MM = 8.0
"""How far the rib ring's posterior pole lies behind the transverse process tips (the rib angle), mm."""
CHEST_WALL_MM = 15.0
"""Chest-wall muscle between the ribs and the fat layer, mm (lateral)."""
THORAX_WALL_MM = 7.0
"""From a rib's mid-line to the lung surface (rib half-thickness, intercostal muscle, pleura), mm."""
STERNUM_HALF = (14.0, 6.0)
"""Sternum half-width and half-thickness, mm (about 28 × 12 mm body; Gray's Anatomy)."""


def _rib_ring(
    k: int, vertebra: Vertebra, body: Body, x_mid: float, spine_x: float
) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Centre, plane axes and semi-axes of the ellipse of rib pair ``k`` (1…12) on ``vertebra``.

    The ring's posterior pole lies :data:`RIB_POSTERIOR_OFFSET_MM` behind the transverse process tips, midway in x
    between the spine and the body's midline; it reaches laterally to the chest wall and anteriorly to the front
    of the chest (under the fat and :data:`CHEST_WALL_MM` of muscle), shrunk by the rib's width/depth profile.
    """
    s, fat = body.scale, body.fat_mm * FAT_PROFILE["chest"]
    elements = posterior_elements(vertebra.dims)
    tip = np.mean([vertebra.to_world(rod.end) for rod in elements.transverse], axis=0)
    pole = np.array([0.5 * (spine_x + x_mid), tip[1] - RIB_POSTERIOR_OFFSET_MM * s, tip[2]])
    # the chest's inner front, relative to the spine: back surface + chest depth − fat − chest wall
    front = vertebra.centre[1] - POSTERIOR_DEPTH_MM["thoracic"] * s + 2 * body.chest_half_depth - 2 * fat
    front -= CHEST_WALL_MM * s
    slope = np.deg2rad(RIB_SLOPE_DEG[k - 1])
    a = (body.chest_half_width - fat - CHEST_WALL_MM * s) * RIB_WIDTH_PROFILE[k - 1]
    b = 0.5 * (front - pole[1]) * RIB_DEPTH_PROFILE[k - 1] / np.cos(slope)
    in_plane = np.array([0.0, np.cos(slope), np.sin(slope)])
    lateral = np.array([1.0, 0.0, 0.0])
    axes = np.stack([lateral, in_plane, np.cross(lateral, in_plane)], axis=1)
    return pole + b * in_plane, axes, (a, b)


def _ribs(vertebrae: list[Vertebra], line: _Line, body: Body) -> list[ArcTube]:
    """Left and right ribs 1…12, each from its vertebra's body (head, neck) around the thorax."""
    v = _by_name(vertebrae)
    s = body.scale
    x_mid = 0.5 * (line.x[0] + line.x[-1])
    ribs = []
    for k in range(1, 13):
        vertebra = v[f"T{k}"]
        centre, axes, (a, b) = _rib_ring(k, vertebra, body, x_mid, line.at(vertebra.centre[2])[0])
        d = vertebra.dims
        for side, process in zip((1.0, -1.0), posterior_elements(d).transverse):
            tip = vertebra.to_world(process.end)
            rel = tip - centre
            start = np.arctan2((rel @ axes[:, 1]) / b, side * (rel @ axes[:, 0]) / a)
            rib = ArcTube(
                name=f"rib_{'left' if side > 0 else 'right'}_{k}",
                side=side,
                centre=centre,
                axes=axes,
                semi_axes=(a, b),
                angles=(float(start), float(np.deg2rad(RIB_END_DEG[k - 1]))),
                half_thickness=RIB_HALF_THICKNESS_MM * s,
                half_height=RIB_HALF_HEIGHT_MM * s,
                cortical=RIB_CORTICAL_MM * s,
            )
            head = vertebra.to_world([side * 0.4 * d.endplate_width, -0.3 * d.endplate_depth, -0.5 * d.body_height])
            neck = Rod(head, rib.point(start), axes[:, 2], 0.6 * d.process_radius, 0.8 * d.process_radius)
            ribs.append(replace(rib, neck=neck))
    return ribs


def _thorax(ribs: list[ArcTube], line: _Line, scale: float) -> Thorax:
    """The inner rib-cage surface from the rib rings: posterior and anterior poles and lateral points per rib."""
    left = [r for r in ribs if r.side > 0]
    post = np.array([r.point(-np.pi / 2) for r in left])
    ant = np.array([r.point(np.pi / 2) for r in left])
    lat = np.array([r.centre for r in left])
    z = np.arange(post[0, 2], ant[-1, 2] + TORSO_STEP_MM, TORSO_STEP_MM)

    def along(points, values):
        order = np.argsort(points[:, 2])
        return np.interp(z, points[order, 2], np.asarray(values)[order])

    y_post = along(post, post[:, 1]) + THORAX_WALL_MM * scale
    y_ant = along(ant, ant[:, 1]) - THORAX_WALL_MM * scale
    half_width = along(lat, [r.semi_axes[0] for r in left]) - THORAX_WALL_MM * scale
    return Thorax(
        z=z,
        centre_x=along(lat, lat[:, 0]),
        centre_y=0.5 * (y_post + y_ant),
        half_width=half_width,
        half_depth=0.5 * (y_ant - y_post),
        spine_x=line.at(z)[0],
    )


LUNG_APEX_ABOVE_RIB1_MM = 10.0
"""The lung apex rises above the first rib's posterior end by about this much, mm."""
MEDIASTINUM_MARGIN_MM = 12.0
"""Soft tissue between the vertebral bodies and the lungs (paravertebral gutter), mm."""
HEART_SEMI_AXES_MM = (60.0, 48.0, 60.0)
"""Heart half-diameters (x, y, z), mm (about 12 × 9.5 × 12 cm)."""


def _lungs(vertebrae: list[Vertebra], thorax: Thorax, scale: float) -> tuple[tuple[Lung, Lung], Ellipsoid]:
    """Two lungs from above the first rib to the diaphragm's dome (about T11), and the heart between them."""
    v = _by_name(vertebrae)
    z_apex = v["T1"].centre[2] - LUNG_APEX_ABOVE_RIB1_MM * scale
    z_base = v["T11"].inferior_endplate[2]
    z_mid = 0.5 * (z_apex + z_base)
    k_mid = np.searchsorted(thorax.z, z_mid).clip(0, len(thorax.z) - 1)
    width = thorax.half_width.max()
    depth = thorax.half_depth.max()
    lungs = []
    for side in (1.0, -1.0):
        centre = np.array([thorax.centre_x[k_mid] + side * 0.5 * width, thorax.centre_y[k_mid], z_mid])
        envelope = Ellipsoid(centre, np.array([0.9 * width, 1.5 * depth, 0.5 * (z_base - z_apex)]))
        gap = 0.5 * v["T6"].dims.endplate_width + MEDIASTINUM_MARGIN_MM * scale
        lungs.append(Lung(side=side, envelope=envelope, medial_gap=gap))
    heart_z = v["T9"].centre[2]
    k = np.searchsorted(thorax.z, heart_z).clip(0, len(thorax.z) - 1)
    heart_centre = np.array(
        [thorax.centre_x[k] + 0.2 * width, thorax.centre_y[k] + 0.25 * thorax.half_depth[k], heart_z]
    )
    return (lungs[0], lungs[1]), Ellipsoid(heart_centre, np.array(HEART_SEMI_AXES_MM) * scale)


TRACHEA_RADIUS_MM = 9.0
"""Tracheal lumen radius, mm (adult diameter about 15–20 mm)."""
TRACHEA_FRONT_OF_BODY_MM = 14.0
"""Gap between the vertebral body's front and the trachea's axis minus its radius (the oesophagus), mm."""


def _trachea(vertebrae: list[Vertebra], scale: float) -> Rod:
    """The trachea from 12 cm above C7 to the carina at T5, in front of the spine."""
    v = _by_name(vertebrae)

    def front(name: str) -> np.ndarray:
        vert = v[name]
        ahead = 0.5 * vert.dims.endplate_depth + (TRACHEA_FRONT_OF_BODY_MM + TRACHEA_RADIUS_MM) * scale
        return vert.centre + ahead * np.array([0.0, 1.0, 0.0])

    top = front("C7") - np.array([0.0, 0.0, 120.0 * scale])
    r = TRACHEA_RADIUS_MM * scale
    return Rod(top, front("T5"), np.array([1.0, 0.0, 0.0]), r, r)


def _sternum(ribs: list[ArcTube], scale: float) -> Rod:
    """The sternum between the anterior poles of the first and seventh rib rings."""
    left = [rib for rib in ribs if rib.side > 0]  # ribs 1…12 of one side; both share their rings
    first, seventh = left[0], left[6]
    half_width, half_thickness = (h * scale for h in STERNUM_HALF)
    return Rod(first.point(np.pi / 2), seventh.point(np.pi / 2), np.array([1.0, 0.0, 0.0]), half_thickness, half_width)


# Pelvis in the upright pelvis frame (u left, v anterior, w inferior; origin at the top of S1), mm at scale 1.
# Adult pelvic dimensions (e.g. Gray's Anatomy; intercristal ~280 mm, inter-ASIS ~240 mm, inlet ~130 × 115 mm).
NOMINAL_SACRAL_SLOPE_DEG = 40.0
"""Sacral slope of an upright pelvis (Legaye et al. 1998: about 40°); the pelvis tilts with any difference."""
ILIAC_WING = {
    "offset": (30.0, 40.0), "top_semi_axes": (100.0, 78.0), "bottom_semi_axes": (62.0, 45.0), "crest_w": -50.0,
    "depth": 130.0, "crest_drop": 35.0, "angles_deg": (-82.0, 35.0), "half_thickness": 4.5, "cortical": 1.2,
}
PELVIC_BRIM = {
    "pole": (0.0, 8.0, 15.0), "semi_axes": (65.0, 57.0), "slope_deg": 60.0, "angles_deg": (-45.0, 90.0),
    "half_thickness": 7.0, "half_height": 9.0, "cortical": 1.5,
}
FEMORAL_HEAD = {"centre": (88.0, 48.0, 100.0), "radius": 24.0}
RAMI = {  # (start, end, half-thickness, half-height) in the pelvis frame, left side (u mirrored for the right)
    "ischium": ((80.0, 35.0, 100.0), (55.0, 15.0, 150.0), 9.0, 11.0),
    "inferior_pubic_ramus": ((55.0, 15.0, 150.0), (10.0, 78.0, 128.0), 6.0, 8.0),
}
FEMUR_RODS = {
    "neck": ((88.0, 48.0, 100.0), (125.0, 40.0, 125.0), 15.0, 15.0),
    "shaft": ((125.0, 40.0, 125.0), (135.0, 40.0, 420.0), 13.0, 13.0),
}
FEMUR_CORTICAL_MM = 3.0
"""Cortical thickness of the femoral neck and shaft, mm (shaft cortex ~5 mm, neck ~2 mm)."""


def _pelvis_axes(sacrum: Sacrum) -> np.ndarray:
    """The upright pelvis frame turned about x by the sacral slope's difference from the nominal slope."""
    inferior = sacrum.axes[:, 2]
    slope = np.arctan2(-inferior[1], inferior[2])  # positive: S1 tilted with its top facing anterior-up
    turn = slope - np.deg2rad(NOMINAL_SACRAL_SLOPE_DEG)  # about +x, so the pelvis follows the sacrum
    c, s = np.cos(turn), np.sin(turn)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _pelvis(sacrum: Sacrum, scale: float) -> tuple[list[HipBone], list[Femur]]:
    """Hip bones and upper femurs around the sacrum, in the pelvis frame of :func:`_pelvis_axes`."""
    origin, axes = sacrum.top, _pelvis_axes(sacrum)
    iw, pb = ILIAC_WING, PELVIC_BRIM
    slope = np.deg2rad(pb["slope_deg"])
    in_plane = axes @ np.array([0.0, np.cos(slope), np.sin(slope)])
    brim_axes = np.stack([axes[:, 0], in_plane, np.cross(axes[:, 0], in_plane)], axis=1)
    brim_a, brim_b = (scale * x for x in pb["semi_axes"])
    brim_centre = origin + axes @ (scale * np.array(pb["pole"])) + brim_b * in_plane
    hips, femurs = [], []
    for side in (1.0, -1.0):
        name = "left" if side > 0 else "right"
        mirror = np.array([side, 1.0, 1.0])

        def rod(start, end, half_thickness, half_height):
            ends = [origin + axes @ (scale * mirror * np.asarray(p)) for p in (start, end)]
            return Rod(ends[0], ends[1], axes[:, 0], half_thickness * scale, half_height * scale)

        wing = IliacWing(
            side=side, centre=origin, axes=axes,
            offset=tuple(scale * np.array(iw["offset"])),
            top_semi_axes=tuple(scale * np.array(iw["top_semi_axes"])),
            bottom_semi_axes=tuple(scale * np.array(iw["bottom_semi_axes"])),
            crest_w=iw["crest_w"] * scale, depth=iw["depth"] * scale, crest_drop=iw["crest_drop"] * scale,
            angles=tuple(np.deg2rad(iw["angles_deg"])), half_thickness=iw["half_thickness"] * scale,
            cortical=iw["cortical"] * scale,
        )
        brim = ArcTube(
            name=f"pelvic_brim_{name}", side=side, centre=brim_centre, axes=brim_axes, semi_axes=(brim_a, brim_b),
            angles=tuple(np.deg2rad(pb["angles_deg"])), half_thickness=pb["half_thickness"] * scale,
            half_height=pb["half_height"] * scale, cortical=pb["cortical"] * scale,
        )
        hips.append(HipBone(wing, brim, tuple(rod(*r) for r in RAMI.values())))
        head = Ellipsoid(origin + axes @ (scale * mirror * np.array(FEMORAL_HEAD["centre"])),
                         np.full(3, FEMORAL_HEAD["radius"] * scale))
        femurs.append(Femur(head, tuple(rod(*r) for r in FEMUR_RODS.values()), FEMUR_CORTICAL_MM * scale))
    return hips, femurs


def build_anatomy(
    centre_line_fine,
    body: Body = Body(),
    axial_rotation_deg: RotationSpec = None,
    rng: np.random.Generator | None = None,
) -> Anatomy:
    """Place the whole phantom on a centre line.

    Args:
        centre_line_fine: ``(M, 3)`` centre line, mm, top of C7 to top of S1 (z increasing); its arc length should be
            about :func:`spine_length_mm` ``(body.scale)``.
        body: the build (torso, fat, skeletal scale).
        axial_rotation_deg: vertebral axial rotation, see :func:`place_vertebrae`.
        rng: per-level skeletal variation (see :func:`place_vertebrae`); ``None`` for the reference dimensions.

    Returns:
        :class:`Anatomy` in the phantom frame.
    """
    vertebrae = place_vertebrae(centre_line_fine, body.scale, axial_rotation_deg, rng)
    line = _Line(np.asarray(centre_line_fine, dtype=np.float64))
    path = _CentrePath(centre_line_fine)
    sacrum = place_sacrum(path.points[-1], path.tangent(path.length), vertebrae[-1].dims, body.scale)
    torso = _torso(vertebrae, line, body)
    ribs = _ribs(vertebrae, line, body)
    thorax = _thorax(ribs, line, body.scale)
    lungs, heart = _lungs(vertebrae, thorax, body.scale)
    hips, femurs = _pelvis(sacrum, body.scale)
    return Anatomy(
        vertebrae=vertebrae,
        discs=place_discs(vertebrae),
        sacrum=sacrum,
        torso=torso,
        thorax=thorax,
        lungs=lungs,
        heart=heart,
        trachea=_trachea(vertebrae, body.scale),
        ribs=ribs,
        sternum=_sternum(ribs, body.scale),
        hips=hips,
        femurs=femurs,
        body=body,
    )
