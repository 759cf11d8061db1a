"""The abdomen's soft tissue: liver, spleen, kidneys in their fat, stomach, colon and small bowel, bladder, aorta and
inferior vena cava, and the gas in the bowel.

Organs are ellipsoids and the bowel chains of tubes (:class:`~.primitives.Rod`), placed from the vertebral levels and
the torso (phantom frame, mm; sizes and sources in ``docs/phantom_anatomy.md``). Positions and sizes vary per study;
gas pockets are ellipsoids that fill only the bowel's lumen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .body import Torso
from .primitives import Ellipsoid, Rod
from .spine import Vertebra, _by_name

__all__ = ["Abdomen", "BOWEL_WALL_MM", "RENAL_FAT_MM", "place_abdomen"]

BOWEL_WALL_MM = 3.0
"""Thickness of the bowel's and the stomach's wall (lean tissue), mm."""
RENAL_FAT_MM = 8.0
"""Thickness of the perirenal fat around each kidney, mm."""
_WALL_MM = 20.0
"""Abdominal wall (muscle) inside the subcutaneous fat that the organs stay behind, mm."""


@dataclass(frozen=True, eq=False)
class Abdomen:
    """The abdominal organs of one person, phantom frame, mm.

    Args:
        liver, spleen, stomach, bladder: ellipsoids (the stomach and the bladder hold fluid; the stomach has a wall).
        kidneys: left and right kidney; each sits in :data:`RENAL_FAT_MM` of fat.
        vessels: the aorta and the inferior vena cava, chains of rods (blood).
        colon, small_bowel: chains of tubes; lumen of fluid inside a :data:`BOWEL_WALL_MM` wall.
        gas: gas pockets (ellipsoids), air where they meet the lumen of the colon or the small bowel.
        stomach_gas_mm: height of the gas cap at the top of the stomach (the upright gastric bubble), 0 for none.
    """

    liver: Ellipsoid
    spleen: Ellipsoid
    kidneys: tuple[Ellipsoid, Ellipsoid]
    stomach: Ellipsoid
    bladder: Ellipsoid
    vessels: tuple[Rod, ...]
    colon: tuple[Rod, ...]
    small_bowel: tuple[Rod, ...]
    gas: tuple[Ellipsoid, ...]
    stomach_gas_mm: float


class _Frame:
    """Where things are at a height z: the spine's centre (x, y) and the torso's inner section (centre, half sizes)."""

    def __init__(self, vertebrae: list[Vertebra], torso: Torso):
        self.levels = _by_name(vertebrae)
        self.torso = torso
        self.level_z = np.array([v.centre[2] for v in vertebrae])
        self.level_xy = np.array([v.centre[:2] for v in vertebrae])

    def z(self, name: str) -> float:
        return float(self.levels[name].centre[2])

    def spine(self, z: float) -> np.ndarray:
        """``(x, y)`` of the vertebral bodies' centres at height ``z`` (held beyond the sacrum), mm."""
        return np.array([np.interp(z, self.level_z, self.level_xy[:, k]) for k in range(2)])

    def inner(self, z: float) -> tuple[float, float, float, float]:
        """``(centre x, centre y, half width, half depth)`` of the abdominal cavity at ``z`` (inside fat and wall)."""
        t = self.torso
        values = (np.interp(z, t.z, a) for a in (t.centre_x, t.centre_y, t.half_width, t.half_depth, t.fat))
        cx, cy, hw, hd, fat = values
        return float(cx), float(cy), float(hw - fat - _WALL_MM), float(hd - fat - _WALL_MM)

    def point(self, z: float, x_share: float, y_share: float) -> np.ndarray:
        """The point at ``z`` a share of the cavity's half width right/left (−/+) of the spine and a share of its
        half depth in front (+) of the cavity's centre."""
        sx, _ = self.spine(z)
        _, cy, hw, hd = self.inner(z)
        return np.array([sx + x_share * hw, cy + y_share * hd, z])


def _chain(points: np.ndarray, radii: np.ndarray) -> tuple[Rod, ...]:
    """Tubes joining consecutive points, each with the mean radius of its two ends."""
    return tuple(Rod.round(points[i], points[i + 1], r) for i, r in enumerate(0.5 * (radii[:-1] + radii[1:])))


def _colon(f: _Frame, rng: np.random.Generator, s: float) -> tuple[np.ndarray, np.ndarray]:
    """The colon frame's path (caecum → ascending → transverse → descending → sigmoid → rectum) and radii, mm."""
    z_s1 = float(f.levels["sacrum"].superior_endplate[2])
    path = [
        (z_s1 + 20 * s, -0.62, 0.0),  # caecum, right iliac fossa
        (f.z("L1"), -0.62, -0.1),  # hepatic flexure, under the liver
        (f.z("L3") + rng.uniform(-20, 30) * s, 0.0, 0.55),  # transverse colon sagging in front of L2–L4
        (f.z("T12"), 0.66, -0.2),  # splenic flexure, higher and further back
        (z_s1 + 10 * s, 0.66, -0.1),  # descending colon, left flank
        (z_s1 + 70 * s, 0.15, 0.25),  # sigmoid loop
        (z_s1 + 120 * s, 0.0, -0.25),  # rectum, in front of the sacrum
    ]
    points = np.array([f.point(z, xs, ys) for z, xs, ys in path])
    points[:, :2] += rng.normal(0.0, 8.0, (len(points), 2))
    radii = np.array([28.0, 24.0, 22.0, 20.0, 18.0, 15.0, 18.0]) * s * rng.uniform(0.85, 1.15)
    return points, radii


def _small_bowel(f: _Frame, rng: np.random.Generator, s: float) -> tuple[np.ndarray, np.ndarray]:
    """Small-bowel loops: a serpentine of runs across the central abdomen from L2 down into the pelvis, mm."""
    z_s1 = float(f.levels["sacrum"].superior_endplate[2])
    runs = rng.integers(5, 8)
    heights = np.linspace(f.z("L2"), z_s1 + 60 * s, runs)
    points = []
    for k, z in enumerate(heights):
        side = 1.0 if k % 2 == 0 else -1.0
        for x_share in (-0.4 * side, 0.4 * side):
            points.append(f.point(z + rng.normal(0.0, 6.0), x_share + rng.normal(0.0, 0.05), rng.uniform(0.1, 0.45)))
    radii = np.full(len(points), 13.0 * s * rng.uniform(0.85, 1.15))
    return np.array(points), radii


def _gas(colon: tuple[np.ndarray, np.ndarray], bowel: tuple[np.ndarray, np.ndarray],
         rng: np.random.Generator) -> tuple[Ellipsoid, ...]:
    """Gas pockets along the colon (3–10, larger) and the small bowel (0–4, smaller), each centred on a random point
    of its tube's axis."""
    pockets = []
    for (points, radii), count, size in ((colon, rng.integers(3, 11), (0.5, 1.1)),
                                         (bowel, rng.integers(0, 5), (0.4, 0.9))):
        for _ in range(count):
            i = int(rng.integers(len(points) - 1))
            t = rng.random()
            centre = points[i] + t * (points[i + 1] - points[i])
            radius = radii[i] * rng.uniform(*size)
            pockets.append(Ellipsoid(centre, radius * rng.uniform(0.7, 1.4, 3)))
    return tuple(pockets)


def place_abdomen(vertebrae: list[Vertebra], torso: Torso, scale: float, rng: np.random.Generator) -> Abdomen:
    """The abdominal organs placed from the vertebral levels and the torso, their sizes (± 12 %), the bowel's course,
    the bladder's filling and the gas drawn from ``rng``."""
    f = _Frame(vertebrae, torso)
    s = scale

    def vary(size) -> np.ndarray:
        return np.asarray(size, dtype=np.float64) * s * rng.uniform(0.88, 1.12)

    z_t12 = f.z("T12")
    _, _, hw, hd = f.inner(z_t12)
    liver = Ellipsoid(f.point(z_t12, -0.38, 0.05), vary((0.62 * hw / s, 0.72 * hd / s, 80.0)))
    spleen = Ellipsoid(f.point(z_t12 - 10 * s, 0.9, -0.3), vary((20.0, 45.0, 50.0)))
    stomach = Ellipsoid(f.point(z_t12 + 10 * s, 0.35, 0.4), vary((50.0, 38.0, 65.0)))
    kidneys = []
    for side, drop in ((1.0, 0.0), (-1.0, 15.0)):  # the right kidney lies lower, under the liver
        z = f.z("L1") + drop * s
        x, y = f.spine(z)
        kidneys.append(Ellipsoid(np.array([x + side * 68.0 * s, y - 8.0 * s, z]), vary((27.0, 22.0, 55.0))))
    z_s1 = float(f.levels["sacrum"].superior_endplate[2])
    fill = rng.uniform(0.6, 1.25)
    bladder = Ellipsoid(f.point(z_s1 + 115 * s, 0.0, 0.35), np.array([45.0, 35.0, 35.0]) * s * fill)
    vessels = []
    for name, levels, dx, dy, r in (("aorta", ("T12", "L1", "L2", "L3", "L4"), 12.0, 14.0, 10.0),
                                    ("ivc", ("T12", "L1", "L2", "L3", "L4", "L5"), -24.0, 16.0, 11.0)):
        ends = []
        for name_ in (n for n in levels if n in f.levels):  # L5 is absent from a four-lumbar spine
            v = f.levels[name_]
            ends.append(v.centre + np.array([dx * s, 0.5 * v.dims.endplate_depth + dy * s, 0.0]))
        vessels += _chain(np.array(ends), np.full(len(ends), r * s))
    colon = _colon(f, rng, s)
    bowel = _small_bowel(f, rng, s)
    gas = _gas(colon, bowel, rng)
    stomach_gas = 0.0 if rng.random() < 0.2 else float(rng.uniform(15.0, 40.0) * s)
    return Abdomen(liver=liver, spleen=spleen, kidneys=tuple(kidneys), stomach=stomach, bladder=bladder,
                   vessels=tuple(vessels), colon=_chain(*colon), small_bowel=_chain(*bowel), gas=gas,
                   stomach_gas_mm=stomach_gas)
