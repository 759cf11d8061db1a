"""Foreign objects in and on the body: scoliosis instrumentation (rods and pedicle screws), ECG electrodes with their
lead wires, and clothing snaps or a bra clasp. Each is drawn per study with a low share (``docs/phantom_anatomy.md``);
their geometry is kept in :class:`Devices` (the truth of where they are), phantom frame, mm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .body import Torso, skin_y
from .primitives import Ellipsoid, Rod
from .spine import Vertebra, _by_name, posterior_elements

__all__ = ["Devices", "Instrumentation", "DEVICE_SHARES", "place_devices"]

DEVICE_SHARES = {"instrumentation": 0.05, "ecg": 0.08, "snaps": 0.12, "bra_clasp": 0.3}
"""Share of studies with each object (``bra_clasp``: of female builds)."""
TITANIUM_SHARE = 0.7
"""Share of instrumented spines in titanium alloy (the others stainless steel)."""
ROD_RADIUS_MM = 2.75
"""Spinal rods of 5.5 mm diameter."""
SCREW_RADIUS_MM = {"thoracic": 2.5, "lumbar": 3.25}
"""Pedicle screws of 5.0 mm (thoracic) and 6.5 mm (lumbar) diameter."""
SCREW_HEAD_MM = 8.0
"""How far the screw's head (where the rod sits) stands behind the pedicle's posterior end, mm."""
WIRE_RADIUS_MM = 0.5
"""An ECG lead's metal core (copper and shield, stood in by steel), mm."""


@dataclass(frozen=True, eq=False)
class Instrumentation:
    """A posterior spinal fusion construct.

    Args:
        metal: ``"titanium"`` or ``"steel"`` (a material of :data:`~monai_spine.phantom.materials.MATERIALS`).
        levels: the instrumented vertebrae, top to bottom.
        rods: the two rods, each a chain of segments through the screw heads on its side.
        screws: the pedicle screws, each from its head (``start``) through the pedicle to its tip (``end``).
    """

    metal: str
    levels: tuple[str, ...]
    rods: tuple[Rod, ...]
    screws: tuple[Rod, ...]


@dataclass(frozen=True, eq=False)
class Devices:
    """The foreign objects of one study (all steel except an instrumentation's ``metal``).

    Args:
        instrumentation: the fusion construct, or ``None``.
        electrodes: ECG electrodes' snaps and sensors, flat ellipsoids on the chest's skin.
        leads: their lead wires, chains of thin rods over the skin.
        buttons: clothing snaps on the anterior midline or a bra's clasp on the back, flat ellipsoids.
    """

    instrumentation: Instrumentation | None = None
    electrodes: tuple[Ellipsoid, ...] = ()
    leads: tuple[Rod, ...] = ()
    buttons: tuple[Ellipsoid, ...] = ()

    def to_dict(self) -> dict:
        """A JSON-ready summary: the construct's metal and levels, and how many electrodes and buttons."""
        c = self.instrumentation
        return {
            "instrumentation": None if c is None else {"metal": c.metal, "levels": list(c.levels),
                                                       "screws": len(c.screws)},
            "ecg_electrodes": len(self.electrodes),
            "buttons": len(self.buttons),
        }


def _chain(points, radius: float) -> tuple[Rod, ...]:
    return tuple(Rod.round(points[i], points[i + 1], radius) for i in range(len(points) - 1))


def _screw(v: Vertebra, side: float) -> tuple[Rod, np.ndarray]:
    """The pedicle screw of ``v`` on ``side`` (+1 left) and its head: in along the pedicle, converging medially, to
    three quarters of the body's depth."""
    elements = posterior_elements(v.dims)
    pedicle = elements.pedicles[0 if side > 0 else 1]
    head = pedicle.end - np.array([0.0, SCREW_HEAD_MM, 0.0])
    aim = np.array([0.3 * pedicle.end[0], 0.25 * v.dims.endplate_depth, pedicle.end[2]])
    radius = SCREW_RADIUS_MM["lumbar" if v.name.startswith("L") else "thoracic"]
    head_world, tip_world = v.to_world(head), v.to_world(aim)
    return Rod.round(head_world, tip_world, radius), head_world


def _instrumentation(vertebrae: list[Vertebra], rng: np.random.Generator) -> Instrumentation:
    """A construct from an upper level in T2–T8 over 5–13 levels (at most to L4), screws at ~85 % of pedicles."""
    mobile = [v for v in vertebrae if v.name != "sacrum"]
    names = [v.name for v in mobile]
    top = names.index(f"T{int(rng.integers(2, 9))}")
    bottom = min(top + int(rng.integers(5, 14)), names.index("L4"))
    levels = mobile[top: bottom + 1]
    screws, rods = [], []
    for side in (1.0, -1.0):
        heads = []
        for v in levels:
            screw, head = _screw(v, side)
            heads.append(head)
            if rng.random() < 0.85:
                screws.append(screw)
        heads = np.array(heads)
        ends = heads[[0, -1]] + 15.0 * np.array([-1.0, 1.0])[:, None] * _unit(heads[[1, -1]] - heads[[0, -2]])
        rods += _chain(np.vstack([ends[:1], heads, ends[1:]]), ROD_RADIUS_MM)
    metal = "titanium" if rng.random() < TITANIUM_SHARE else "steel"
    return Instrumentation(metal, tuple(v.name for v in levels), tuple(rods), tuple(screws))


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def _on_skin(torso: Torso, z: float, x: float, lift: float, side: float = 1.0) -> np.ndarray:
    return np.array([x, skin_y(torso, z, x, side) + side * lift, z])


def _ecg(named: dict[str, Vertebra], torso: Torso, rng: np.random.Generator):
    """3–5 electrodes (right and left infraclavicular, left and right lower chest, V1) with wires running down and
    to the left over the skin."""
    cx = float(np.interp(named["T6"].centre[2], torso.z, torso.centre_x))
    sites = [(-0.55, "T3"), (0.55, "T3"), (0.5, "T12"), (-0.5, "T12"), (-0.1, "T7")]
    chosen = sites[: int(rng.integers(3, 6))]
    electrodes, leads = [], []
    for share, level in chosen:
        z = named[level].centre[2] + rng.normal(0.0, 10.0)
        hw = float(np.interp(z, torso.z, torso.half_width))
        x = cx + (share + rng.normal(0.0, 0.05)) * hw
        centre = _on_skin(torso, z, x, 2.5)
        electrodes.append(Ellipsoid(centre, np.array([6.0, 1.5, 6.0])))
        path = [centre] + [_on_skin(torso, z + dz, x + dx, 5.0) for dz, dx in ((90.0, 40.0), (220.0, 90.0))]
        leads += _chain(np.array(path), WIRE_RADIUS_MM)
    return tuple(electrodes), tuple(leads)


def _buttons(named: dict[str, Vertebra], torso: Torso, female: bool, rng: np.random.Generator):
    """Clothing snaps down the anterior midline and, for a female build, a bra clasp on the back."""
    buttons = []
    if rng.random() < DEVICE_SHARES["snaps"]:
        start = named["T4"].centre[2]
        for k in range(int(rng.integers(3, 7))):
            z = start + k * rng.uniform(80.0, 100.0)
            x = float(np.interp(z, torso.z, torso.centre_x)) + rng.normal(0.0, 4.0)
            buttons.append(Ellipsoid(_on_skin(torso, z, x, 3.0), np.array([6.0, 1.0, 6.0])))
    if female and rng.random() < DEVICE_SHARES["bra_clasp"]:
        z = named["T7"].centre[2] + rng.normal(0.0, 15.0)
        x = float(np.interp(z, torso.z, torso.centre_x))
        buttons += [Ellipsoid(_on_skin(torso, z + dz, x, 3.0, -1.0), np.array([12.0, 1.0, 3.0])) for dz in (-6, 6)]
    return tuple(buttons)


def place_devices(vertebrae: list[Vertebra], torso: Torso, female: bool, rng: np.random.Generator) -> Devices:
    """The foreign objects of one study, each present with its share in :data:`DEVICE_SHARES`."""
    named = _by_name(vertebrae)
    construct = _instrumentation(vertebrae, rng) if rng.random() < DEVICE_SHARES["instrumentation"] else None
    electrodes, leads = _ecg(named, torso, rng) if rng.random() < DEVICE_SHARES["ecg"] else ((), ())
    return Devices(construct, electrodes, leads, _buttons(named, torso, female, rng))
