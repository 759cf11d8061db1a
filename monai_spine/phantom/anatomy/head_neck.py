"""The cervical spine above the centre line (C1 to C6), the skull base point and the mandible.

The phantom's centre line starts at the top of C7 (z = 0 of the phantom frame). Above it the cervical spine follows
a path of its own: it leaves C7's superior endplate along the line's first tangent and, going up, turns toward
posterior with a constant curvature, so that the tangents at C7's top and at C2's inferior endplate differ by the
study's C2–C7 lordosis (concave posterior); its coronal slope fades to vertical at the top. C6 … C2 are stacked up it,
each above its disc (the level table's ``disc_height`` of that level: C6/C7 … C2/C3), with the level table's
dimensions (:data:`~.spine.LEVEL_DIMS`, Panjabi et al. 1991, Gilad & Nissan 1986) and the same per-level variation as
the other levels; no axial rotation. C2 carries the dens, C3–C6 uncinate processes, C2–C6 bifid spinous tips. C1 (the
atlas) has no body (``Vertebra.has_body`` False): lateral masses (its ``pedicles``), anterior arch, posterior arch and
transverse processes, ringing the dens just above C2. The skull base (basion) lies :data:`BASION_ABOVE_DENS_MM`
above the dens's tip. Values and sources: ``docs/phantom_anatomy.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .primitives import ArcTube, Rod
from .spine import CERVICAL_LEVELS, Vertebra, _CentrePath, level_dims, level_label, posterior_elements, vertebra_axes

__all__ = [
    "CERVICAL_LORDOSIS_DEG",
    "DENS_LENGTH_MM",
    "BASION_ABOVE_DENS_MM",
    "Neck",
    "sample_cervical_lordosis",
    "place_cervical",
    "place_mandible",
]

CERVICAL_LORDOSIS_DEG = (10.0, 40.0)
"""Range of the C2–C7 lordosis (Cobb, degrees) drawn uniformly per study: asymptomatic adults have a mean of about
15–25° with an SD of about 10–12° (Gore DR et al., *Roentgenographic findings of the cervical spine in asymptomatic
people*, Spine 1986;11(6):521–524; Hardacker JW et al., *Radiographic standing cervical segmental alignment in
adult volunteers without neck symptoms*, Spine 1997;22(13):1472–1480)."""
DENS_LENGTH_MM = 15.0
"""Height of the dens above the C2 body's superior endplate, mm (about 15 mm; Doherty BJ, Heggeness MH,
*Quantitative anatomy of the second cervical vertebra*, Spine 1995;20(5):513–517)."""
DENS_RADIUS_MM = 5.0
"""Half the dens's diameter (about 10 mm across), mm."""
ATLAS_GAP_MM = 2.0
"""Gap between C2's superior endplate and the bottom of the atlas's lateral masses (the C1/C2 facet joints), mm."""
BASION_ABOVE_DENS_MM = 5.0
"""Basion–dens interval, mm (about 5 mm, under 12 mm in adults; Harris JH Jr et al., *Radiologic diagnosis of
traumatic occipitovertebral dissociation*, AJR 1994;162(4):881–886)."""
MANDIBLE = {"below_basion": 45.0, "anterior": 10.0, "semi_axes": (45.0, 60.0), "half_thickness": 5.0,
            "half_height": 12.0, "ramus_height": 45.0, "cortical": 1.5}
"""The mandible at scale 1, mm: its body a horseshoe (half an elliptic ring, gonial angle to gonial angle through the
chin: ~90 mm bigonial breadth, ~65 mm from the angles to the chin; body ~10 mm thick, ~25 mm high) centred
``below_basion`` below the basion (the angles at about C2/C3) and ``anterior`` in front of it; a ramus rising
``ramus_height`` from each angle toward the skull base (Gray's Anatomy, 41st ed.)."""
_PATH_POINTS = 400
"""Samples of the cervical path."""


@dataclass(frozen=True, eq=False)
class Neck:
    """The cervical spine and what hangs on it.

    Args:
        vertebrae: C1 … C6, top to bottom (C1 without a body).
        lordosis_deg: the C2–C7 lordosis the path was built with.
        basion: ``(3,)`` the skull base's lowest midline point (the front of the foramen magnum), mm.
        mandible: the mandible's body (half an elliptic ring) and its two rami.
    """

    vertebrae: list[Vertebra]
    lordosis_deg: float
    basion: np.ndarray
    mandible: tuple[ArcTube, Rod, Rod]


def sample_cervical_lordosis(rng: np.random.Generator | None) -> float:
    """A C2–C7 lordosis drawn uniformly from :data:`CERVICAL_LORDOSIS_DEG` (their middle without ``rng``), degrees."""
    low, high = CERVICAL_LORDOSIS_DEG
    return 0.5 * (low + high) if rng is None else float(rng.uniform(low, high))


def _cervical_path(start, tangent, length: float, turn_deg: float, turn_length: float) -> _CentrePath:
    """A path up from ``start`` (C7's superior endplate) whose downward tangent starts as ``tangent`` and turns
    toward anterior by ``turn_deg`` over the first ``turn_length`` mm (then straight); ``length`` mm long, top
    first."""
    t0 = np.asarray(tangent, dtype=np.float64) / np.linalg.norm(tangent)
    s = np.linspace(0.0, length, _PATH_POINTS)
    theta = np.arctan2(t0[1], t0[2]) + np.deg2rad(turn_deg) * np.clip(s / turn_length, 0.0, 1.0)
    slope = t0[0] / np.hypot(t0[1], t0[2]) * (1.0 - np.clip(s / turn_length, 0.0, 1.0))
    down = np.stack([slope, np.sin(theta), np.cos(theta)], axis=1)
    down /= np.linalg.norm(down, axis=1, keepdims=True)
    steps = 0.5 * (down[1:] + down[:-1]) * np.diff(s)[:, None]
    points = np.asarray(start, dtype=np.float64) - np.concatenate([[np.zeros(3)], np.cumsum(steps, axis=0)])
    return _CentrePath(points[::-1])


def _extra_rods(name: str, dims) -> tuple[Rod, ...]:
    """The rods a cervical level has beyond the generic posterior elements, in its local frame (mm)."""
    h, up, anterior = dims.body_height, np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0])
    elements = posterior_elements(dims)
    rods = []
    if name == "C1":  # anterior arch: from each lateral mass's front to the anterior tubercle, in front of the dens
        tubercle = np.array([0.0, 0.5 * dims.endplate_depth + 4.0, 0.0])
        for pedicle in elements.pedicles:
            rods.append(Rod(pedicle.start, tubercle, up, 3.5, 0.4 * h))
        return tuple(rods)
    if name == "C2":
        rods.append(Rod(np.array([0.0, 1.0, -0.5 * h + 2.0]), np.array([0.0, 1.0, -0.5 * h - DENS_LENGTH_MM]),
                        anterior, DENS_RADIUS_MM, DENS_RADIUS_MM))
    else:  # uncinate processes: the lateral lips of the superior endplate
        for side in (1.0, -1.0):
            u = side * 0.5 * dims.endplate_width
            base, tip = np.array([u - side * 1.5, 0.0, -0.5 * h + 2.0]), np.array([u - side * 0.5, 0.0, -0.5 * h - 3.0])
            rods.append(Rod(base, tip, anterior, 1.5, 2.5))
    spinous = elements.spinous
    fork = spinous.start + 0.7 * (spinous.end - spinous.start)
    for side in (1.0, -1.0):  # bifid tip
        rods.append(Rod(fork, spinous.end + np.array([side * 4.0, -2.0, 0.0]), up, spinous.half_thickness,
                        0.7 * spinous.half_height))
    return tuple(rods)


def place_cervical(top_of_c7, tangent, scale: float, lordosis_deg: float, rng: np.random.Generator | None) -> Neck:
    """C1 … C6 above C7, the basion and the mandible.

    Args:
        top_of_c7: ``(3,)`` centre of C7's superior endplate (the centre line's first point), mm.
        tangent: ``(3,)`` the centre line's tangent there (toward the feet).
        scale: skeletal size (1 = the reference adult).
        lordosis_deg: C2–C7 lordosis, degrees (:func:`sample_cervical_lordosis`).
        rng: per-level variation of every dimension (as :func:`~.spine.place_vertebrae`); ``None`` for none.
    """
    dims = {name: level_dims(name, scale, rng) for name in CERVICAL_LEVELS[::-1]}  # C6 first, as placed
    below_c2 = sum(dims[n].body_height + dims[n].disc_height for n in CERVICAL_LEVELS[2:]) + dims["C2"].disc_height
    reach = below_c2 + dims["C2"].body_height + (DENS_LENGTH_MM + BASION_ABOVE_DENS_MM + 20.0) * scale
    path = _cervical_path(top_of_c7, tangent, reach, lordosis_deg, below_c2)
    up_at = lambda s: path.length - s  # noqa: E731  (height above C7's top → arc length from the path's top)
    vertebrae, s = [], 0.0
    for name in CERVICAL_LEVELS[:0:-1]:  # C6 … C2
        d = dims[name]
        bottom, top = s + d.disc_height, s + d.disc_height + d.body_height
        vertebrae.append(_vertebra(name, d, path, up_at(top), up_at(bottom)))
        s = top
    c1 = dims["C1"]
    bottom = s + ATLAS_GAP_MM * scale
    vertebrae.append(_vertebra("C1", c1, path, up_at(bottom + c1.body_height), up_at(bottom), has_body=False))
    basion = path.point(up_at(s + (DENS_LENGTH_MM + BASION_ABOVE_DENS_MM) * scale))
    return Neck(vertebrae[::-1], float(lordosis_deg), basion, place_mandible(basion, scale))


def _vertebra(name: str, dims, path: _CentrePath, top: float, bottom: float, has_body: bool = True) -> Vertebra:
    """A cervical vertebra between arc lengths ``top`` and ``bottom`` (from the path's top) of ``path``."""
    middle = 0.5 * (top + bottom)
    return Vertebra(
        name=name,
        label=level_label(name),
        centre=path.point(middle),
        axes=vertebra_axes(path.tangent(middle)),
        dims=dims,
        superior_endplate=path.point(top),
        inferior_endplate=path.point(bottom),
        superior_normal=path.tangent(top),
        inferior_normal=path.tangent(bottom),
        rotation_deg=0.0,
        extra_rods=_extra_rods(name, dims),
        has_body=has_body,
    )


def place_mandible(basion, scale: float) -> tuple[ArcTube, Rod, Rod]:
    """The mandible's body (half an elliptic ring in a horizontal plane, angle to angle through the chin) and its
    rami (rods from the angles up toward the skull base), from the basion, mm."""
    m = {k: (tuple(x * scale for x in v) if isinstance(v, tuple) else v * scale) for k, v in MANDIBLE.items()}
    centre = np.asarray(basion, dtype=np.float64) + (0.0, m["anterior"], m["below_basion"])
    axes = np.eye(3)  # lateral (+x), anterior, normal (z)
    body = ArcTube("mandible", 1.0, centre, axes, m["semi_axes"], (0.0, np.pi), m["half_thickness"],
                   m["half_height"], m["cortical"])
    rami = []
    for side in (1.0, -1.0):
        angle = centre + np.array([side * m["semi_axes"][0], 0.0, 0.0])
        rami.append(Rod(angle, angle + np.array([0.0, -8.0 * scale, -m["ramus_height"]]), np.array([0.0, 1.0, 0.0]),
                        m["half_thickness"], 0.6 * m["half_height"]))
    return body, rami[0], rami[1]
