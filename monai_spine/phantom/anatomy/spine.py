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

from .primitives import Rod

__all__ = [
    "LEVELS",
    "CERVICAL_LEVELS",
    "SPINE_LEVELS",
    "mobile_levels",
    "TOTALSEGMENTATOR_IDS",
    "VERTEBRA_LABELS",
    "LevelDims",
    "LEVEL_DIMS",
    "level_dims",
    "level_label",
    "spine_length_mm",
    "level_spans",
    "vertebra_axes",
    "Vertebra",
    "Disc",
    "PosteriorElements",
    "posterior_elements",
    "place_vertebrae",
    "place_discs",
    "Sacrum",
    "place_sacrum",
]

LEVELS = ("C7",) + tuple(f"T{i}" for i in range(1, 13)) + tuple(f"L{i}" for i in range(1, 6)) + ("sacrum",)
"""The levels placed along the centre line (:func:`place_vertebrae`), top to bottom: C7, T1–T12, L1–L5, the sacrum."""

CERVICAL_LEVELS = tuple(f"C{i}" for i in range(1, 7))
"""The levels above the centre line, C1 (the atlas, no body) to C6, placed on a cervical lordosis (:mod:`.cervical`)."""

TOTALSEGMENTATOR_IDS = {
    "sacrum": 26,
    **{f"L{i}": 32 - i for i in range(1, 6)},
    **{f"T{i}": 44 - i for i in range(1, 13)},
    **{f"C{i}": 51 - i for i in range(1, 8)},
}
"""Level name → TotalSegmentator v2 class id: 26 sacrum (its first segment, S1), 27 L5 … 31 L1, 32 T12 … 43 T1,
44 C7 … 50 C1 (Wasserthal et al., Radiology: Artificial Intelligence 2023). It has no L6: a sixth lumbar vertebra
is labelled 0, as ``monai-spine drr`` writes it (VerSe's id 25)."""

SACRUM_BELOW_S1_ID = 25
"""TotalSegmentator v2's ``sacrum`` class: the sacrum below its first segment, which is ``vertebrae_S1`` (26). The
phantom's label volume keeps the two apart as TotalSegmentator does, so that ``monai-spine drr`` reads S1 as the
S1 segment and not as the whole sacrum (whose anterior part, taken for the S1 body, ran the column down to the
sacral tip)."""

VERTEBRA_LABELS = {
    **{f"vertebrae_{'S1' if name == 'sacrum' else name}": TOTALSEGMENTATOR_IDS[name]
       for name in CERVICAL_LEVELS + LEVELS},
    "sacrum": SACRUM_BELOW_S1_ID,
}
"""TotalSegmentator v2 label names → their class ids, top to bottom (C1 50 … C7 44 … L5 27, S1 26, the sacrum below
S1 25; 0 is background)."""


def level_label(level: str) -> int:
    """The TotalSegmentator v2 id of a level name (``"C1"`` … ``"C7"``, ``"T1"`` … ``"L5"``, ``"sacrum"``); 0 (not
    labelled) for ``"L6"``, which TotalSegmentator lacks."""
    if level == "L6":
        return 0
    if level not in TOTALSEGMENTATOR_IDS:
        raise ValueError(f"unknown level {level!r}; expected one of {', '.join(TOTALSEGMENTATOR_IDS)}.")
    return TOTALSEGMENTATOR_IDS[level]


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
        transverse_drop: how far the transverse processes' tips reach down (inferior), 0 but for a transitional L5
            whose processes meet the sacral alae (:mod:`.variants`).
        posterior_exponent: superellipse exponent of the body's axial section behind its centre (dimensionless):
            2 an ellipse, as in front; higher, a flatter posterior wall with fuller posterolateral corners, where the
            pedicles join (``Body.vertebral_body_posterior_exponent``).
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
    transverse_drop: float = 0.0
    posterior_exponent: float = 2.0

    UNSCALED = ("transverse_angle_deg", "spinous_inclination_deg", "posterior_exponent")
    UNVARIED = UNSCALED + ("transverse_drop",)

    def scaled(self, factor: float) -> LevelDims:
        """All lengths multiplied by ``factor`` (angles and the body's shape kept)."""
        return self.varied({f.name: factor for f in fields(self) if f.name not in self.UNSCALED})

    def varied(self, factors: dict[str, float]) -> LevelDims:
        """Fields multiplied by ``factors`` (name → factor); the others kept."""
        return replace(self, **{name: getattr(self, name) * f for name, f in factors.items()})


# Columns: body height, endplate width, endplate depth, disc below, pedicle width, height, length, canal width,
# depth, transverse span, transverse angle, spinous length, inclination, spinous height, lamina, process radius,
# cortical shell. Thoracic body/endplate/pedicle/canal/transverse: Panjabi et al. 1991 (Spine 16:888); lumbar:
# Panjabi et al. 1992 (Spine 17:299) and Zhou et al. 2000 (Eur Spine J 9:242); C7: Panjabi et al. 1991 (Spine
# 16:861); discs: Busscher et al. 2010 (Eur Spine J 19:1104) thoracic, Pooni et al. 1986 / Twomey & Taylor 1985
# lumbar; lamina: Egwu et al. 2019; cortical shell: Silva et al. 1994, Ritzel et al. 1997; sacrum (S1 row):
# Gray's Anatomy (41st ed.), Zhou et al. 2000. L6 (a lumbarised S1, :mod:`.variants`): L5's row, a slightly lower
# disc and a shorter spinous process. C1–C6: Panjabi et al. 1991 (Spine 16:861) and Gilad & Nissan 1986
# (Spine 11:154) for bodies, endplates, pedicles and canal; discs: Gilad & Nissan 1986 (4.5–6 mm); transverse spans
# and spinous lengths: Gray's Anatomy (41st ed.). C1 has no body: its "endplate" is the dens it rings (C2's), its
# pedicles are the lateral masses, its spinous process the posterior tubercle; C2's body height is below the dens.
_TABLE = {
    #        body  epW   epD  disc  pdW  pdH  pdL  cnW  cnD  tpS tpA  spL spI spH  lam  prR  cort
    "C1": (12.0, 10.0, 10.0, 0.0, 14.0, 14.0, 14.0, 28.0, 16.0, 76.0, 5, 8.0, 0, 8.0, 7.0, 4.0, 0.6),
    "C2": (15.5, 17.0, 15.5, 4.5, 7.5, 8.5, 6.0, 23.5, 15.5, 56.0, 10, 28.0, 20, 10.0, 6.0, 3.5, 0.5),
    "C3": (14.0, 16.5, 15.5, 5.0, 5.5, 7.0, 5.0, 24.0, 14.5, 52.0, 10, 18.0, 20, 7.0, 4.5, 3.0, 0.5),
    "C4": (13.5, 17.5, 16.0, 5.0, 5.5, 7.0, 5.0, 24.5, 14.0, 53.0, 10, 18.0, 20, 7.0, 4.5, 3.0, 0.5),
    "C5": (13.5, 18.5, 16.0, 5.5, 5.5, 7.0, 5.0, 25.0, 14.0, 55.0, 10, 20.0, 20, 7.0, 4.5, 3.0, 0.5),
    "C6": (13.5, 20.0, 16.5, 5.5, 5.5, 7.0, 5.0, 25.0, 14.0, 58.0, 10, 26.0, 20, 8.0, 4.5, 3.0, 0.5),
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
    "L6": (25.0, 50.0, 35.0, 10.0, 16.0, 14.0, 18.0, 26.0, 18.0, 92.0, 5, 22.0, 5, 14.0, 7.5, 4.5, 0.4),
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
"""The mobile levels C7…L5 placed along the centre line (their bodies and the discs below them fill it); the spine
column is their bodies and discs and the S1 body (``raster.py``)."""

_HEIGHT_FIELDS = ("body_height", "disc_height")
_MIN_STRETCH, _MAX_STRETCH = 0.7, 1.5


def mobile_levels(lumbar_count: int = 5) -> tuple[str, ...]:
    """The levels placed along the centre line above the sacrum: C7, T1–T12 and ``lumbar_count`` (4, 5 or 6) lumbar
    vertebrae."""
    if lumbar_count not in (4, 5, 6):
        raise ValueError(f"lumbar_count must be 4, 5 or 6, got {lumbar_count}.")
    return SPINE_LEVELS[:13] + tuple(f"L{i}" for i in range(1, lumbar_count + 1))


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
        extra_rods: rods beyond :func:`posterior_elements` in the local frame (the dens, the atlas's anterior arch,
            uncinate processes, bifid spinous tips; :mod:`.head_neck`).
        has_body: False for the atlas (C1): no body, so nothing of it in the spine column and no disc below it.
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
    extra_rods: tuple[Rod, ...] = ()
    has_body: bool = True

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
            Rod(np.array([u, v_canal, w_pedicle]),
                np.array([u + side * reach, v_canal - back, w_pedicle + dims.transverse_drop]), up,
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


def level_dims(name: str, scale: float, rng: np.random.Generator | None) -> LevelDims:
    """Level ``name``'s dimensions scaled by ``scale`` and, with ``rng``, each varied by about
    :data:`LEVEL_VARIATION_SD` (clipped at 2 SD)."""
    d = LEVEL_DIMS[name].scaled(scale)
    if rng is not None:
        names = [f.name for f in fields(d) if f.name not in LevelDims.UNVARIED]
        noise = np.clip(rng.standard_normal(len(names)), -2.0, 2.0)
        d = d.varied(dict(zip(names, 1.0 + LEVEL_VARIATION_SD * noise)))
    return d


def _level_dims(names, scale: float, rng: np.random.Generator | None) -> list[LevelDims]:
    """The dimensions of the levels ``names`` (:func:`level_dims`)."""
    return [level_dims(name, scale, rng) for name in names]


def place_vertebrae(
    centre_line_fine,
    scale: float = 1.0,
    axial_rotation_deg: RotationSpec = None,
    rng: np.random.Generator | None = None,
    lumbar_count: int = 5,
    body_proportions: tuple[float, float] = (1.0, 1.0),
    posterior_exponent: float = 2.0,
) -> list[Vertebra]:
    """Place C7…L5 (L4 or L6 with ``lumbar_count`` 4 or 6) and the sacrum along a centre line.

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
        lumbar_count: 4, 5 or 6 lumbar vertebrae (:mod:`.variants`); the common stretch fits them to the line.
        body_proportions: ``(width, depth)`` factors on every level's endplate width and depth (the sacrum's S1
            included) beyond ``scale``: a person's vertebral bodies broad or deep for the skeleton around them
            (``Body.vertebral_body_width`` and ``Body.vertebral_body_depth``).
        posterior_exponent: every body's :attr:`LevelDims.posterior_exponent`
            (``Body.vertebral_body_posterior_exponent``).

    Returns:
        ``14 + lumbar_count`` :class:`Vertebra`, C7 first, the sacrum last.

    Raises:
        ValueError: bad centre line, scale or rotation array, or a centre line whose arc length is too far from
            :func:`spine_length_mm` (stretch outside [0.7, 1.5]).
    """
    _check_scale(scale)
    path = _CentrePath(centre_line_fine)
    rotation_at = _rotation_function(axial_rotation_deg, path)
    names = mobile_levels(lumbar_count)
    width, depth = body_proportions
    dims = [replace(d.varied({"endplate_width": width, "endplate_depth": depth}), posterior_exponent=posterior_exponent)
            for d in _level_dims(names + ("sacrum",), scale, rng)]
    mobile = dims[:-1]
    stretch = path.length / sum(d.body_height + d.disc_height for d in mobile)
    if not _MIN_STRETCH <= stretch <= _MAX_STRETCH:
        raise ValueError(
            f"the centre line's arc length ({path.length:.1f} mm) does not fit the spine at scale {scale} "
            f"({path.length / stretch:.1f} mm); set SpineShape.length_mm from spine_length_mm(scale)."
        )
    vertebrae, s = [], 0.0
    for name, d in zip(names, mobile):
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
    """The discs between consecutive vertebrae with bodies, top to bottom (C2/C3 … L5/S1 for a whole spine; none
    below the atlas)."""
    discs = []
    for upper, lower in zip(vertebrae[:-1], vertebrae[1:]):
        if not upper.has_body:
            continue
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
    """The sacrum hanging from the centre line's last point ``top``, in the sagittal plane of the line's
    ``end_tangent`` there: it takes the tangent's sagittal tilt (the sacral slope) but not its coronal one, since it
    stands in the pelvis, which is level (``pelvis_limbs``); a scoliotic line's last segment, tilted up to 57° in
    the coronal plane, meets it across a wedged L5/S1 disc, as the lumbosacral take-off does."""
    tangent = np.asarray(end_tangent, dtype=np.float64) * (0.0, 1.0, 1.0)
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


def _by_name(vertebrae: list[Vertebra]) -> dict[str, Vertebra]:
    return {v.name: v for v in vertebrae}


class _Line:
    """The centre line as functions of z (clamped at its ends): x(z) and y(z), mm."""

    def __init__(self, centre_line):
        self.z, self.x, self.y = centre_line[:, 2], centre_line[:, 0], centre_line[:, 1]

    def at(self, z):
        return np.interp(z, self.z, self.x), np.interp(z, self.z, self.y)
