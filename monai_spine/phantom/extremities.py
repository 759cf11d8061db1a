"""The head, neck, arms and legs of the phantom as analytic solids, for its whole-body DXA.

The rasterised phantom (``raster.py``) is the trunk, from the neck to the upper thighs; only the DXA sees more of
the body, so the rest of it is added to the DXA's attenuation line integrals analytically instead of to the
volume. Each solid has horizontal (constant-z) cross-sections or is an axis-aligned ellipsoid, so its path length
along y (the DXA's parallel beam) at a point ``(x, z)`` of the coronal plane, its **chord**, has a closed form.

**Parts.** A :class:`Part` is a solid of one material holding the parts inside it (a limb's fat layer holds its
muscle, the muscle its bones, a bone's cortex its marrow). A part displaces the material of the part it lies in,
so along a ray each material's path is the chord of its parts less the chords of the parts inside them: exact for
nested solids whose siblings do not meet. A part and its parent are centred on the same coronal plane (a parallel
projection along y does not see y positions), so a part clipped to its parent, as every part is, has the shorter
of the two chords, and siblings do not meet when their ``(x, z)`` footprints do not. A top-level part lies in
air.

**Placement** (phantom frame: x left, y anterior, z feet; mm; sources in ``docs/phantom_imaging.md``): the skull's
lowest point on the skull base (the basion of ``anatomy.neck``, above the rasterised cervical spine C1–C6 and mandible),
the vertex :data:`SKULL_SEMI_AXES_MM` and :data:`SCALP_MM` above it; the neck continues the torso envelope of
:class:`~monai_spine.phantom.anatomy.Torso` above the trunk grid; the arms hang straight beside the torso from the level
of T1 with a gap of :data:`ARM_GAP_MM`; the legs continue the trunk below the grid, each femoral shaft from where the
grid cuts the upper femur of ``anatomy.femurs`` to the knee, then the tibia and fibula to the ankle, and the feet
(supine, toes up, so the beam runs along the foot). Bone lengths and segment proportions are adult means (Trotter &
Gleser 1952; Winter 2009) at ``body.scale`` 1 (a stature of ~1.72 m) and scale with it; soft-tissue radii are lean sizes
plus a fat layer from ``body.fat_mm``.

Nothing here overlaps the trunk grid's tissue: parts end at the grid's top and bottom edges (the neck and the
legs continue the torso's cross-section there, the thighs morphing from it over :data:`THIGH_MORPH_MM`), the
arms lie beside the torso.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from monai_spine.geometry.grid import Grid

from .anatomy import Anatomy, Ellipsoid, Torso
from .materials import MATERIALS, Tissue, linear_attenuation

__all__ = [
    "ARM_GAP_MM",
    "THIGH_MORPH_MM",
    "Morph",
    "Part",
    "Profile",
    "chord",
    "extremity_line_integrals",
    "extremity_parts",
    "material_paths",
    "trunk_z_edges",
    "vertex_z",
]

SKULL_SEMI_AXES_MM = (70.0, 90.0, 68.0)
"""Outer semi-axes of the cranium (x, y, z): breadth ~140, length ~180, vertex to the skull base (basion) ~136 mm
(basion–bregma height ~130–140 mm). With the rasterised cervical spine the vertex lies ~255 mm above the top of C7
at scale 1 (stature − cervicale height ≈ 0.145 stature ≈ 250 mm; ANSUR II, Gordon et al. 2014)."""
SCALP_MM = 6.0
"""Soft tissue over the skull, mm."""
SKULL_MM = 6.5
"""Cranial vault thickness (tables and diploë as cortical bone), mm (~6–7 mm; Lynnerup 2001)."""
HEAD_HEIGHT_MM = 230.0
"""Vertex to chin (menton), mm (ANSUR II, Gordon et al. 2014); with the skull and the scalp the head is then
~150 mm broad and ~190 mm long."""
HEAD_NECK_JOIN = 0.61
"""The head gives way to the neck this far (fraction of the face's z semi-axis) below the skull's equator, where
its width is about the neck's (the jaw line), or :data:`NECK_ABOVE_GRID_MM` above the trunk grid's top if that is
higher."""
JAW_MORPH_MM = 20.0
"""Above that join the head's cross-section turns into the neck's over this height, mm."""
NECK_ABOVE_GRID_MM = 20.0
"""The analytic neck continues the trunk grid's neck at least this far (scale 1) before the jaw line, mm: the grid's
top lies at the skull base, and the head's tissue starts above this strip, so the whole-body DXA has no seam there."""

FEMUR_LENGTH_MM = 465.0
TIBIA_LENGTH_MM = 370.0
HUMERUS_LENGTH_MM = 330.0
RADIUS_LENGTH_MM = 246.0
ULNA_LENGTH_MM = 265.0
"""Maximum bone lengths at a stature of 1.72 m (the Trotter & Gleser 1952 regressions inverted), mm."""
ULNA_ABOVE_JOINT_MM = 20.0
"""The olecranon's rise above the elbow joint, left out (it lies behind the humerus), mm."""
HAND_LENGTH_MM = 186.0
"""Wrist to fingertip, 0.108 × stature (Winter 2009 segment proportions), mm."""
JOINT_SPACE_MM = 3.0
"""Gap between the bones of the knee and of the elbow (cartilage), mm."""

KNEE_X_MM = 90.0
ANKLE_X_MM = 80.0
"""Distance of each knee's and ankle's centre from the body's midline, mm (legs straight, feet slightly apart)."""
TIBIA_MEDIAL_MM = 5.0
"""The tibia's axis lies this far medial of the leg's, mm (its medial face is under the skin)."""
ARM_GAP_MM = 10.0
"""Gap between a hanging arm (or hand) and the torso or thigh, mm."""
THIGH_MORPH_MM = 60.0
"""Below the trunk grid the legs' cross-section turns from the torso's into the two thighs' over this height, mm."""
THIGH_TOP_DEPTH = 0.85
"""A thigh's half-depth where it leaves the trunk, as a fraction of the torso's there (the buttocks end)."""
_CLEARANCE_STEP_MM = 5.0
"""z step at which the arm's clearance from the torso and legs is checked, mm."""

# Soft tissue at scale 1, per node: (landmark, z offset, lean half-width, lean half-depth, fat factor); lean tissue
# is muscle, the fat layer is ``fat factor × body.fat_mm`` thick. Girths: ANSUR II means of men and women (mid-thigh
# ~560, knee ~380, calf ~370, ankle ~230, biceps ~310, forearm ~280, wrist ~170 mm circumference).
LEG_NODES = (
    ("knee", -200.0, 68.0, 72.0, 0.9),  # mid-thigh
    ("knee", -60.0, 50.0, 50.0, 0.6),
    ("knee", 0.0, 50.0, 48.0, 0.5),
    ("knee", 110.0, 52.0, 55.0, 0.6),  # calf
    ("ankle", -80.0, 31.0, 32.0, 0.4),
    ("ankle", 0.0, 31.0, 30.0, 0.3),
)
ARM_NODES = (
    ("shoulder", 0.0, 12.0, 20.0, 0.3),  # the shoulder's rounded top
    ("shoulder", 12.0, 32.0, 40.0, 0.5),
    ("shoulder", 35.0, 44.0, 48.0, 0.6),  # deltoid
    ("shoulder", 155.0, 40.0, 45.0, 0.6),  # mid upper arm
    ("elbow", -40.0, 35.0, 35.0, 0.5),
    ("elbow", 0.0, 38.0, 32.0, 0.4),
    ("elbow", 70.0, 40.0, 36.0, 0.4),  # forearm
    ("wrist", 0.0, 30.0, 19.0, 0.25),
)
FOOT = {"semi_axes": (45.0, 110.0, 40.0), "centre_z": 27.0, "outward": 5.0, "bone_semi_axes": (30.0, 65.0, 24.0),
        "bone_centre_z": 24.0, "cortical": 1.5}
"""The foot (supine, toes up: its ~260 mm length along the beam, breadth ~95 mm): centre below the ankle joint and
outward, so the sole lies 0.039 × stature below the ankle (Winter 2009); tarsals and metatarsals as one
cortical-shelled cancellous ellipsoid; mm."""
HAND = {"semi_axes_xy": (40.0, 16.0), "centre_z": 70.0, "bone_semi_axes": (28.0, 7.0, 60.0), "bone_centre_z": 55.0,
        "cortical": 1.5}
"""The hand (palm toward the thigh) below the wrist, reaching :data:`HAND_LENGTH_MM`; carpals and metacarpals as one
cortical-shelled cancellous ellipsoid; mm."""

# Long bones at scale 1, per node: (landmark, z offset, half-width, half-depth, cortical[, gap]), and the lengths of
# cancellous bone inside the cortex at (top, bottom), fatty marrow between. ``gap``: the fibula's distance from the
# tibia, a forearm bone's from the forearm's axis. Shaft diameters and cortices: femur ~27 / ~6 mm, tibia ~24 × 20 /
# ~5 mm, humerus ~22 / ~4 mm; ends: bicondylar femur ~84, tibial plateau ~76, humeral epicondyles ~60, humeral head
# ~45, distal radius ~25 mm (Gray's Anatomy, 41st ed., rounded).
FEMUR_DISTAL = (
    ("knee", -90.0, 13.0, 13.0, 6.0),  # shaft
    ("knee", -55.0, 30.0, 25.0, 2.0),
    ("knee", -25.0, 42.0, 30.0, 1.5),  # condyles
    ("knee", -10.0, 42.0, 30.0, 1.5),
    ("knee", 0.0, 30.0, 24.0, 1.5),
)
FEMUR_CANCELLOUS_MM = (30.0, 90.0)
TIBIA = (
    ("tibia", 0.0, 33.0, 22.0, 1.5),
    ("tibia", 6.0, 38.0, 25.0, 1.5),  # plateau
    ("tibia", 27.0, 36.0, 26.0, 1.5),
    ("tibia", 77.0, 18.0, 18.0, 3.0),
    ("tibia", 147.0, 11.0, 12.0, 5.0),  # shaft
    ("ankle", -40.0, 13.0, 12.0, 3.0),
    ("ankle", -5.0, 18.0, 16.0, 1.5),  # plafond and medial malleolus
    ("ankle", 0.0, 16.0, 15.0, 1.5),
)
TIBIA_CANCELLOUS_MM = (70.0, 50.0)
FIBULA = (
    ("tibia", 47.0, 9.0, 9.0, 1.0, 2.0),  # head
    ("tibia", 77.0, 6.0, 6.0, 1.5, 4.0),
    ("tibia", 187.0, 6.0, 6.0, 2.0, 12.0),  # shaft, across the interosseous membrane
    ("ankle", -60.0, 6.0, 6.0, 2.0, 3.0),
    ("ankle", -20.0, 8.0, 8.0, 1.2, 1.0),  # lateral malleolus
    ("ankle", 0.0, 7.0, 7.0, 1.2, 1.0),
)
FIBULA_CANCELLOUS_MM = (30.0, 40.0)
HUMERUS = (
    ("humerus", 0.0, 10.0, 10.0, 1.0),
    ("humerus", 12.0, 22.0, 22.0, 1.0),  # head
    ("humerus", 35.0, 25.0, 22.0, 1.2),  # tubercles
    ("humerus", 70.0, 13.0, 13.0, 2.5),  # surgical neck
    ("humerus", 140.0, 11.0, 11.0, 4.0),  # shaft
    ("elbow", -60.0, 14.0, 11.0, 3.0),
    ("elbow", -25.0, 30.0, 11.0, 1.5),  # epicondyles
    ("elbow", -5.0, 24.0, 12.0, 1.2),
    ("elbow", 0.0, 18.0, 10.0, 1.0),
)
HUMERUS_CANCELLOUS_MM = (80.0, 60.0)
ULNA = (
    ("elbow", 2.0, 10.0, 12.0, 1.0, 1.5),
    ("elbow", 15.0, 10.0, 12.0, 1.2, 1.5),  # coronoid
    ("elbow", 60.0, 7.0, 8.0, 2.5, 4.0),
    ("elbow", 200.0, 5.5, 6.0, 2.0, 5.0),
    ("ulna", -5.0, 8.0, 7.0, 1.0, 1.5),  # head
    ("ulna", 0.0, 4.0, 4.0, 1.0, 1.5),
)
RADIUS = (
    ("radius", 0.0, 10.0, 10.0, 1.0, 1.5),  # head
    ("radius", 17.0, 7.0, 7.0, 1.5, 1.5),
    ("radius", 117.0, 7.0, 6.0, 2.5, 5.0),
    ("wrist", -40.0, 10.0, 8.0, 1.5, 2.0),
    ("wrist", -8.0, 12.0, 9.0, 1.0, 1.5),  # distal radius
    ("wrist", 0.0, 10.0, 8.0, 1.0, 1.5),
)
FOREARM_CANCELLOUS_MM = (25.0, 35.0)
HUMERUS_BELOW_SHOULDER_MM = 5.0
"""The humeral head's top lies this far below the shoulder's (the arm's top, at the level of T1), mm."""


# ---------------------------------------------------------------------------------------------------------------
# Solids and their chords.


@dataclass(frozen=True, eq=False)
class Profile:
    """A solid of horizontal superelliptic cross-sections ``|x − cx(z)|ⁿ / a(z)ⁿ + |y − y₀|ⁿ / b(z)ⁿ ≤ 1``.

    ``cx``, ``a``, ``b`` are piecewise linear in z between the nodes; the solid fills ``z[0] ≤ z < z[-1]`` (flat
    ends; solids sharing an end node join without a gap or an overlap) and ``x_range[0] ≤ x < x_range[1]``.

    Args:
        z: ``(K,)`` node heights, mm, increasing.
        centre_x, half_width, half_depth: ``(K,)`` cross-section centre and semi-axes (x, y) at the nodes, mm.
        exponent: ``n`` (2: ellipses).
        x_range: ``(low, high)`` x of the cutting planes, mm.
    """

    z: np.ndarray
    centre_x: np.ndarray
    half_width: np.ndarray
    half_depth: np.ndarray
    exponent: float = 2.0
    x_range: tuple[float, float] = (-np.inf, np.inf)

    def box(self) -> tuple[float, float, float, float]:
        """``(x_low, x_high, z_low, z_high)`` of the solid, mm (the extremes lie at nodes)."""
        low = max(float(np.min(self.centre_x - self.half_width)), self.x_range[0])
        high = min(float(np.max(self.centre_x + self.half_width)), self.x_range[1])
        return low, high, float(self.z[0]), float(self.z[-1])


@dataclass(frozen=True, eq=False)
class Morph:
    """``solid``, except between ``z0`` and ``z1`` where its cross-section grows out of ``start``'s.

    Its chord is ``t · chord(solid) + (1 − t) · chord(start)`` with ``t`` rising linearly from 0 at ``z0`` to 1 at
    ``z1``: a solid whose chord at each ``(x, z)`` is that blend (the thighs growing out of the pelvis, the neck out
    of the head). ``solid`` must span ``z0`` to ``z1``.
    """

    solid: Profile
    start: Profile | Ellipsoid
    z0: float
    z1: float

    def box(self) -> tuple[float, float, float, float]:
        first, second = _box(self.solid), _box(self.start)
        return min(first[0], second[0]), max(first[1], second[1]), self.z0, first[3]


Solid = Profile | Morph | Ellipsoid


def _box(solid: Solid) -> tuple[float, float, float, float]:
    if isinstance(solid, Ellipsoid):
        (cx, _, cz), (rx, _, rz) = solid.centre, solid.semi_axes
        return cx - rx, cx + rx, cz - rz, cz + rz
    return solid.box()


def chord(solid: Solid, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """The path length along y through ``solid`` at every ``(x[i], z[j])``, ``(len(x), len(z))`` mm.

    Args:
        solid: a :class:`Profile`, :class:`Morph` or axis-aligned :class:`~monai_spine.phantom.anatomy.Ellipsoid`.
        x, z: 1D float tensors of coronal coordinates, mm.
    """
    if isinstance(solid, Ellipsoid):
        (cx, _, cz), (rx, ry, rz) = solid.centre, solid.semi_axes
        across, along = ((x - float(cx)) / float(rx)).square(), ((z - float(cz)) / float(rz)).square()
        return 2.0 * float(ry) * (1.0 - across[:, None] - along[None]).clamp_min(0.0).sqrt()
    if isinstance(solid, Morph):
        t = ((z - solid.z0) / (solid.z1 - solid.z0)).clamp(0.0, 1.0)
        start = chord(solid.start, x, z) * ((z >= solid.z0) & (z < solid.z1))
        return chord(solid.solid, x, z) * t + start * (1.0 - t)
    zs = z.detach().cpu().double().numpy()
    table = np.stack([np.interp(zs, solid.z, v) for v in (solid.centre_x, solid.half_width, solid.half_depth)])
    within = (zs >= solid.z[0]) & (zs < solid.z[-1])
    cx, a, b = torch.as_tensor(table * within, dtype=x.dtype, device=x.device)
    u = ((x[:, None] - cx[None]).abs() / a.clamp_min(1e-6)[None]).clamp_max(1.0)
    n = solid.exponent
    across = (1.0 - u * u).sqrt() if n == 2.0 else (1.0 - u.pow(n)).pow(1.0 / n)
    cut = ((x >= solid.x_range[0]) & (x < solid.x_range[1])).to(x.dtype)
    return 2.0 * b[None] * across * cut[:, None]


@dataclass(frozen=True, eq=False)
class Part:
    """A solid of one material and the parts inside it (see the module docstring).

    Args:
        name: e.g. ``"femur_left"``.
        solid: its shape.
        material: one of ``MATERIALS``.
        inside: the parts it holds; each displaces this part's material and is clipped to this part.
        z_range: the part exists only for ``z_range[0] ≤ z < z_range[1]`` mm (and so does what it holds).
    """

    name: str
    solid: Solid
    material: str
    inside: tuple[Part, ...] = ()
    z_range: tuple[float, float] = (-np.inf, np.inf)

    def __post_init__(self):
        if self.material not in MATERIALS:
            raise ValueError(f"{self.name}: material must be one of {MATERIALS}, got {self.material!r}.")


# ---------------------------------------------------------------------------------------------------------------
# Projection of parts onto a pixel grid.


def _pixels(origin: float, pixel: float, n: int, low: float, high: float) -> tuple[int, int]:
    """``[first, stop)`` indices of the pixels along one axis whose centres ``origin + i · pixel`` lie in
    ``[low, high]``."""
    first = max(int(np.ceil((low - origin) / pixel - 1e-9)), 0)
    stop = min(int(np.floor((high - origin) / pixel + 1e-9)) + 1, n)
    return first, max(stop, first)


def _project(part: Part, out: torch.Tensor, weights: torch.Tensor, geometry, replaced: str | None, parent) -> None:
    """Add ``(weights[:, material] − weights[:, replaced]) × chord`` of ``part`` and, recursively, its contents.

    ``parent`` is ``(columns, rows, chord)`` of the part it lies in (``None`` at the top level): its pixel ranges
    and its chord there, which clips this part's (two solids centred on one coronal plane meet in the shorter
    chord).
    """
    origin, pixel, shape = geometry
    x0, x1, z0, z1 = _box(part.solid)
    (c0, c1) = _pixels(origin[0], pixel[0], shape[0], x0, x1)
    (r0, r1) = _pixels(origin[1], pixel[1], shape[1], max(z0, part.z_range[0]), min(z1, part.z_range[1]))
    if parent is not None:
        (pc0, pc1), (pr0, pr1), outer = parent
        c0, c1, r0, r1 = max(c0, pc0), min(c1, pc1), max(r0, pr0), min(r1, pr1)
    if c1 <= c0 or r1 <= r0:
        return
    x, z = (o + p * torch.arange(i, j, dtype=torch.float64) for o, p, i, j in zip(origin, pixel, (c0, r0), (c1, r1)))
    length = chord(part.solid, x.float(), z.float()) * ((z >= part.z_range[0]) & (z < part.z_range[1]))[None]
    if parent is not None:
        length = torch.minimum(length, outer[c0 - pc0 : c1 - pc0, r0 - pr0 : r1 - pr0])
    weight = weights[:, MATERIALS.index(part.material)]
    if replaced is not None:
        weight = weight - weights[:, MATERIALS.index(replaced)]
    out[:, c0:c1, r0:r1] += weight[:, None, None] * length[None]
    for child in part.inside:
        _project(child, out, weights, geometry, part.material, ((c0, c1), (r0, r1), length))


def material_paths(
    parts: Sequence[Part], origin_mm, pixel_mm, shape, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """Per-material path lengths along y through ``parts`` at the centres of a pixel grid, or weighted sums of them.

    Args:
        parts: top-level parts (:func:`extremity_parts`).
        origin_mm: phantom ``(x, z)`` of the centre of pixel ``(0, 0)``, mm.
        pixel_mm: ``(column, row)`` pixel size, mm.
        shape: ``(W, H)`` pixels.
        weights: ``(C, len(MATERIALS))`` per-material weights (e.g. μ in 1/mm for line integrals); the identity
            (path lengths per material) when omitted.

    Returns:
        ``(C, W, H)`` float32: ``Σ_parts weights[:, material] × path``; a part displaces the material of the part
        it lies in, which counts negatively there.
    """
    weights = torch.eye(len(MATERIALS)) if weights is None else torch.as_tensor(weights, dtype=torch.float32)
    out = torch.zeros((weights.shape[0], int(shape[0]), int(shape[1])))
    geometry = (tuple(float(v) for v in origin_mm), tuple(float(v) for v in pixel_mm), tuple(shape))
    for part in parts:
        _project(part, out, weights.float(), geometry, None, None)
    return out


# ---------------------------------------------------------------------------------------------------------------
# The body's parts.


def trunk_z_edges(grid: Grid) -> tuple[float, float]:
    """z of the trunk grid's top and bottom voxel edges, mm: the rasterised body lies between them."""
    top = grid.origin[2] - 0.5 * grid.spacing[2]
    return top, top + grid.shape[2] * grid.spacing[2]


def vertex_z(anatomy: Anatomy) -> float:
    """z of the top of the head, mm: the skull (and the scalp over it) stands on the basion."""
    return float(anatomy.neck.basion[2]) - (2.0 * SKULL_SEMI_AXES_MM[2] + SCALP_MM) * anatomy.body.scale


def _midline(anatomy: Anatomy) -> float:
    return float(np.mean(anatomy.torso.centre_x))


def _torso_section(torso: Torso, z: np.ndarray, inner: bool) -> tuple[np.ndarray, ...]:
    """The torso's cross-section at heights ``z``: centre x, half-width, half-depth (inside the fat with ``inner``)."""
    fat = np.interp(z, torso.z, torso.fat) if inner else 0.0
    values = [np.interp(z, torso.z, v) for v in (torso.centre_x, torso.half_width, torso.half_depth)]
    return values[0], values[1] - fat, values[2] - fat


def _long_bone(name: str, z, centre_x, half_width, half_depth, cortical, cancellous_mm) -> Part:
    """A long bone: a cortical tube over cancellous bone near its ends and fatty marrow in its shaft.

    Args:
        z, centre_x, half_width, half_depth, cortical: ``(K,)`` node heights, centres, outer semi-axes and cortical
            thickness, mm.
        cancellous_mm: ``(top, bottom)`` lengths of cancellous bone inside each end, mm.
    """
    arrays = (np.asarray(v, dtype=np.float64) for v in (z, centre_x, half_width, half_depth, cortical))
    z, centre_x, half_width, half_depth, cortical = arrays
    inner = Profile(z, centre_x, half_width - cortical, half_depth - cortical)
    top, bottom = z[0] + cancellous_mm[0], z[-1] - cancellous_mm[1]
    marrow = (
        Part(f"{name}_cancellous_top", inner, "cancellous", z_range=(z[0], top)),
        Part(f"{name}_marrow", inner, "fat", z_range=(top, bottom)),
        Part(f"{name}_cancellous_bottom", inner, "cancellous", z_range=(bottom, np.inf)),
    )
    return Part(name, Profile(z, centre_x, half_width, half_depth), "cortical", marrow)


def _shelled(name: str, centre, semi_axes, cortical: float) -> Part:
    """A cortical-shelled ellipsoid of cancellous bone."""
    centre, semi_axes = np.asarray(centre, dtype=np.float64), np.asarray(semi_axes, dtype=np.float64)
    core = Part(f"{name}_cancellous", Ellipsoid(centre, semi_axes - cortical), "cancellous")
    return Part(name, Ellipsoid(centre, semi_axes), "cortical", (core,))


def _nodes(table, landmarks: dict[str, float], scale: float) -> tuple[np.ndarray, ...]:
    """A bone table's ``(landmark, offset, half-width, half-depth, cortical[, gap])`` rows → the nodes' z and each
    size column, scaled, mm."""
    z = np.array([landmarks[key] + offset * scale for key, offset, *_ in table])
    sizes = np.array([row[2:] for row in table], dtype=np.float64).T * scale
    return (z, *sizes)


def _head_and_neck(anatomy: Anatomy, top_edge: float) -> list[Part]:
    """The head and the neck above the trunk grid.

    The head is lean tissue: the cranium (the skull under the scalp, an ellipsoid) above the skull's equator, the
    face (an ellipsoid reaching the chin) below it, turning into the neck's cross-section (the torso's, continued
    upward) over :data:`JAW_MORPH_MM` above the join; the skull is a cortical shell around the brain (lean tissue).
    The neck (fat over lean tissue) runs from the join to the trunk grid. The cervical spine and the mandible are in
    the trunk grid (``raster.py``).
    """
    s, x_mid, vertex, torso = anatomy.body.scale, _midline(anatomy), vertex_z(anatomy), anatomy.torso
    skull_semi = np.array(SKULL_SEMI_AXES_MM) * s
    scalp_semi = skull_semi + SCALP_MM * s
    equator = np.array([x_mid, 0.0, vertex + scalp_semi[2]])
    face_semi = np.array([*scalp_semi[:2], (HEAD_HEIGHT_MM * s - scalp_semi[2])])
    join = min(equator[2] + HEAD_NECK_JOIN * face_semi[2], top_edge - NECK_ABOVE_GRID_MM * s)
    jaw = join - JAW_MORPH_MM * s
    brain = Part("brain", Ellipsoid(equator, skull_semi - SKULL_MM * s), "muscle")
    skull = Part("skull", Ellipsoid(equator, skull_semi), "cortical", (brain,))
    inside = (skull,)
    z = np.unique(np.concatenate([[jaw, join, top_edge], torso.z[(torso.z > jaw) & (torso.z < top_edge)]]))
    cx, width, depth = _torso_section(torso, z, inner=False)
    _, lean_width, lean_depth = _torso_section(torso, z, inner=True)
    neck = Profile(z, cx, width, depth, torso.exponent)
    face = Ellipsoid(equator, face_semi)
    parts = [
        Part("cranium", Ellipsoid(equator, scalp_semi), "muscle", (skull,), z_range=(-np.inf, equator[2])),
        Part("face", face, "muscle", inside, z_range=(equator[2], jaw)),
        Part("jaw", Morph(neck, face, jaw, join), "muscle", inside, z_range=(jaw, join)),
        Part("neck", neck, "fat", (Part("neck_lean", Profile(z, cx, lean_width, lean_depth, torso.exponent),
                                        "muscle"),),
             z_range=(join, np.inf)),
    ]
    return parts


def _leg(anatomy: Anatomy, side: float, bottom_edge: float) -> tuple[Part, Part]:
    """One leg below the trunk grid (thigh, knee, lower leg; femur, tibia, fibula) and its foot.

    The femoral shaft continues the grid's upper femur from the grid's bottom edge (same axis point, radius and
    cortex there) to the knee; the skin and lean tissue grow out of the torso's cross-section over
    :data:`THIGH_MORPH_MM`, the thigh starting as this side's half of the torso (its half-depth reduced to
    :data:`THIGH_TOP_DEPTH`).
    """
    s, body, torso, x_mid = anatomy.body.scale, anatomy.body, anatomy.torso, _midline(anatomy)
    femur = anatomy.femurs[0 if side > 0 else 1]
    head_z = float(femur.head.centre[2])
    knee = head_z - float(femur.head.semi_axes[2]) + FEMUR_LENGTH_MM * s
    tibia_top = knee + JOINT_SPACE_MM * s
    marks = {"knee": knee, "tibia": tibia_top, "ankle": tibia_top + TIBIA_LENGTH_MM * s}
    x_knee, x_ankle = x_mid + side * KNEE_X_MM * s, x_mid + side * ANKLE_X_MM * s

    def axis(z):
        return np.interp(z, [knee, marks["ankle"]], [x_knee, x_ankle])

    # Soft tissue: the torso's half at the grid's edge, then the thigh, knee, calf and ankle; the femur's top.
    rod = femur.rods[-1]
    x_femur = float(np.interp(bottom_edge, [rod.start[2], rod.end[2]], [rod.start[0], rod.end[0]]))
    radius = float(rod.half_thickness)
    top = np.array([bottom_edge])
    cx_torso, width, depth = (float(v[0]) for v in _torso_section(torso, top, inner=False))
    lobe = (cx_torso + side * 0.5 * width, 0.5 * width, THIGH_TOP_DEPTH * depth, 2.0)
    fat_top = _fat_over_femur([(cx_torso, width, depth, torso.exponent), lobe], x_femur, radius,
                              float(np.interp(bottom_edge, torso.z, torso.fat)))
    z = np.concatenate([top, [marks[k] + dz * s for k, dz, *_ in LEG_NODES]])
    lean_width = np.array([lobe[1] - fat_top] + [w * s for *_, w, _, _ in LEG_NODES])
    lean_depth = np.array([lobe[2] - fat_top] + [d * s for *_, d, _ in LEG_NODES])
    fat = np.array([fat_top] + [f * body.fat_mm for *_, f in LEG_NODES])
    centre = np.concatenate([[lobe[0]], axis(z[1:])])
    centre[1] = np.interp(z[1], [z[0], knee], [centre[0], x_knee])
    half = (x_mid, np.inf) if side > 0 else (-np.inf, x_mid)
    morph_z = np.array([bottom_edge, bottom_edge + THIGH_MORPH_MM])
    starts = [Profile(morph_z, np.full(2, cx_torso), np.full(2, width - f), np.full(2, depth - f), torso.exponent, half)
              for f in (0.0, fat_top)]

    # Bones.
    fz, fw, fd, fc = _nodes(FEMUR_DISTAL, marks, s)
    femur_bone = _long_bone(
        f"femur_{_side_name(side)}", np.concatenate([top, fz]), np.concatenate([[x_femur], np.full(len(fz), x_knee)]),
        np.concatenate([[radius], fw]), np.concatenate([[radius], fd]), np.concatenate([[femur.cortical], fc]),
        np.array(FEMUR_CANCELLOUS_MM) * s,
    )
    tz, tw, td, tc = _nodes(TIBIA, marks, s)
    tibia_axis = axis(tz) - side * TIBIA_MEDIAL_MM * s
    tibia = _long_bone(f"tibia_{_side_name(side)}", tz, tibia_axis, tw, td, tc, np.array(TIBIA_CANCELLOUS_MM) * s)
    bz, bw, bd, bc, gap = _nodes(FIBULA, marks, s)
    nodes = np.unique(np.concatenate([bz, tz[(tz > bz[0]) & (tz < bz[-1])]]))  # the fibula hugs the tibia exactly
    b_width = np.interp(nodes, bz, bw)
    b_centre = (np.interp(nodes, tz, tibia_axis) + side * (np.interp(nodes, tz, tw) + np.interp(nodes, bz, gap)
                                                            + b_width))
    fibula = _long_bone(f"fibula_{_side_name(side)}", nodes, b_centre, b_width, np.interp(nodes, bz, bd),
                        np.interp(nodes, bz, bc), np.array(FIBULA_CANCELLOUS_MM) * s)

    name = f"leg_{_side_name(side)}"
    lean = Part(f"{name}_lean", Morph(Profile(z, centre, lean_width, lean_depth), starts[1], *morph_z), "muscle",
                (femur_bone, tibia, fibula))
    leg = Part(name, Morph(Profile(z, centre, lean_width + fat, lean_depth + fat), starts[0], *morph_z), "fat",
               (lean,))
    return leg, _foot(side, marks["ankle"], x_ankle, s)


def _fat_over_femur(sections, femur_x: float, radius: float, fat: float) -> float:
    """The thickest fat layer, at most ``fat``, under which the femur lies in the lean tissue of every section.

    Where the grid cuts the upper femur it may reach into the torso's fat layer (the raster paints bone over it);
    the legs thin their fat there instead. A section is ``(centre x, half-width, half-depth, exponent)`` of the
    skin; the femur (a circle of ``radius`` about ``femur_x``, on the section's coronal plane) must fit, with its
    bounding square, in the skin's superellipse shrunk by the fat. 0 when none fits (a slim build whose femur
    reaches the skin there: the leg clips it).
    """
    for f in np.linspace(fat, 0.0, 21):  # 5 % steps
        if all(((abs(femur_x - cx) + radius) / (a - f)) ** n + (radius / (b - f)) ** n <= 1.0
               for cx, a, b, n in sections):
            return float(f)
    return 0.0


def _foot(side: float, ankle: float, x_ankle: float, scale: float) -> Part:
    """A foot below the ankle joint, toes up: lean tissue around its bones."""
    f = FOOT
    x = x_ankle + side * f["outward"] * scale
    bone = _shelled(f"foot_bones_{_side_name(side)}", (x, 0.0, ankle + f["bone_centre_z"] * scale),
                    np.array(f["bone_semi_axes"]) * scale, f["cortical"] * scale)
    shape = Ellipsoid(np.array([x, 0.0, ankle + f["centre_z"] * scale]), np.array(f["semi_axes"]) * scale)
    return Part(f"foot_{_side_name(side)}", shape, "muscle", (bone,), z_range=(ankle, np.inf))


def _side_name(side: float) -> str:
    return "left" if side > 0 else "right"


def _lateral_extent(anatomy: Anatomy, legs: Sequence[Part], bottom_edge: float, z: np.ndarray) -> np.ndarray:
    """How far the trunk or the legs reach from the midline at heights ``z`` (skin), mm."""
    torso, x_mid = anatomy.torso, _midline(anatomy)
    extent = np.where(z < bottom_edge + THIGH_MORPH_MM, np.interp(z, torso.z, torso.half_width), 0.0)
    for leg in legs:
        skin = leg.solid.solid
        within = (z >= skin.z[0]) & (z < skin.z[-1])
        cx, width = np.interp(z, skin.z, skin.centre_x), np.interp(z, skin.z, skin.half_width)
        extent = np.maximum(extent, np.where(within, np.abs(cx - x_mid) + width, 0.0))
    return extent


def _arm(anatomy: Anatomy, side: float, legs: Sequence[Part], bottom_edge: float) -> tuple[Part, Part]:
    """One arm hanging straight beside the torso and thigh (upper arm, elbow, forearm) and its hand.

    The arm's top is the shoulder at the level of T1; its axis lies :data:`ARM_GAP_MM` clear of the torso and the
    leg at every height, the humerus on the axis, the ulna (medial) and the radius (lateral) beside it.
    """
    s, body, x_mid = anatomy.body.scale, anatomy.body, _midline(anatomy)
    shoulder = float(next(v for v in anatomy.vertebrae if v.name == "T1").centre[2])
    humerus_top = shoulder + HUMERUS_BELOW_SHOULDER_MM * s
    elbow = humerus_top + HUMERUS_LENGTH_MM * s
    marks = {"shoulder": shoulder, "humerus": humerus_top, "elbow": elbow, "radius": elbow + JOINT_SPACE_MM * s,
             "ulna": elbow + (ULNA_LENGTH_MM - ULNA_ABOVE_JOINT_MM) * s}
    marks["wrist"] = marks["radius"] + RADIUS_LENGTH_MM * s
    wrist = marks["wrist"]

    z = np.array([marks[k] + dz * s for k, dz, *_ in ARM_NODES])
    lean_width, lean_depth = (np.array([row[k] for row in ARM_NODES]) * s for k in (2, 3))
    fat = np.array([row[4] for row in ARM_NODES]) * body.fat_mm
    hand_semi = np.array([*HAND["semi_axes_xy"], HAND_LENGTH_MM - HAND["centre_z"]]) * s
    hand_z = wrist + HAND["centre_z"] * s

    # The axis: clear of the trunk and the leg at every height the arm or the hand spans.
    heights = np.arange(shoulder, hand_z + hand_semi[2], _CLEARANCE_STEP_MM)
    arm_width = np.where(heights < wrist, np.interp(heights, z, lean_width + fat), 0.0)
    hand_width = hand_semi[0] * np.sqrt(np.clip(1.0 - ((heights - hand_z) / hand_semi[2]) ** 2, 0.0, 1.0))
    reach = _lateral_extent(anatomy, legs, bottom_edge, heights) + ARM_GAP_MM * s
    x_axis = x_mid + side * float(np.max(reach + np.maximum(arm_width, np.where(heights >= wrist, hand_width, 0.0))))

    hz, hw, hd, hc = _nodes(HUMERUS, marks, s)
    humerus = _long_bone(f"humerus_{_side_name(side)}", hz, np.full(len(hz), x_axis), hw, hd, hc,
                         np.array(HUMERUS_CANCELLOUS_MM) * s)
    forearm = []
    for bone, table, away in (("ulna", ULNA, -side), ("radius", RADIUS, side)):
        bz, bw, bd, bc, gap = _nodes(table, marks, s)
        forearm.append(_long_bone(f"{bone}_{_side_name(side)}", bz, x_axis + away * (gap + bw), bw, bd, bc,
                                  np.array(FOREARM_CANCELLOUS_MM) * s))
    centre = np.full(len(z), x_axis)
    name = f"arm_{_side_name(side)}"
    lean = Part(f"{name}_lean", Profile(z, centre, lean_width, lean_depth), "muscle", (humerus, *forearm))
    arm = Part(name, Profile(z, centre, lean_width + fat, lean_depth + fat), "fat", (lean,))

    bone = _shelled(f"hand_bones_{_side_name(side)}", (x_axis, 0.0, wrist + HAND["bone_centre_z"] * s),
                    np.array(HAND["bone_semi_axes"]) * s, HAND["cortical"] * s)
    hand = Part(f"hand_{_side_name(side)}", Ellipsoid(np.array([x_axis, 0.0, hand_z]), hand_semi), "muscle", (bone,),
                z_range=(wrist, np.inf))
    return arm, hand


def extremity_parts(anatomy: Anatomy, grid: Grid) -> tuple[Part, ...]:
    """The head, neck, cervical spine, arms, hands, legs and feet of ``anatomy`` around the trunk on ``grid``.

    Args:
        anatomy: the placed phantom (:func:`~monai_spine.phantom.anatomy.build_anatomy`).
        grid: the trunk grid the phantom is rasterised on; parts join the trunk at its top and bottom edges.

    Returns:
        top-level :class:`Part` objects, phantom frame, mm.
    """
    top_edge, bottom_edge = trunk_z_edges(grid)
    legs, feet = zip(*(_leg(anatomy, side, bottom_edge) for side in (1.0, -1.0)))
    arms = [_arm(anatomy, side, legs, bottom_edge) for side in (1.0, -1.0)]
    return tuple(_head_and_neck(anatomy, top_edge)) + legs + feet + tuple(p for pair in arms for p in pair)


def extremity_line_integrals(
    anatomy: Anatomy, grid: Grid, origin_mm, pixel_mm, shape, energies_kev, tissue: Tissue | None = None
) -> torch.Tensor:
    """Attenuation line integrals ``Σ_m μ_m(E) · path_m`` along y through the extremities, at DXA pixel centres.

    Args:
        anatomy, grid: the phantom and its trunk grid (:func:`extremity_parts`).
        origin_mm: phantom ``(x, z)`` of the centre of pixel ``(0, 0)``, mm (``DxaImage.origin_mm``).
        pixel_mm: ``(column, row)`` pixel size, mm.
        shape: ``(W, H)`` pixels.
        energies_kev: photon energies, keV or names of ``ENERGIES_KEV`` (``"dxa_low"``).
        tissue: the cancellous bone composition; ``Tissue()`` when omitted.

    Returns:
        ``(len(energies_kev), W, H)`` float32, dimensionless.
    """
    composition = (tissue or Tissue()).composition()
    mu = np.stack([composition @ linear_attenuation(e) for e in energies_kev])  # (E, M), 1/mm
    return material_paths(extremity_parts(anatomy, grid), origin_mm, pixel_mm, shape, torch.as_tensor(mu))
