"""The shoulder girdle: clavicles, scapulae and the manubrium, which cross the upper thoracic spine in a frontal view.

Phantom frame (x left, y anterior, z feet), mm. Sizes (adult, scale 1; see ``docs/phantom_anatomy.md``): clavicle
about 150 mm long and 12 mm thick, S-shaped (medial two thirds convex anterior), rising about 15 mm from the
sternoclavicular joint to the acromion; scapula about 160 mm high and 100 mm wide, lying on the posterior chest wall
over ribs 2–7 with its medial border about 55 mm from the spinous processes; manubrium about 50 mm high and 50 mm
wide at the jugular notch, the top of the sternum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .body import FAT_PROFILE, Body
from .primitives import ArcTube, Ellipsoid, Rod
from .spine import Vertebra, _by_name

__all__ = ["ShoulderGirdle", "place_shoulder_girdle"]

CLAVICLE_HALF_MM = 6.0
"""Clavicle mid-shaft half-diameter, mm (about 12 mm)."""
CLAVICLE_MEDIAL_GAP_MM = 25.0
"""x of the sternoclavicular joint from the sternum's axis, mm (the manubrium's clavicular notch)."""
CLAVICLE_RISE_MM = 15.0
"""The acromial end lies this much higher than the sternal end, mm."""
CLAVICLE_BOW_MM = 10.0
"""Forward bow of the medial two thirds of the clavicle, mm."""
SHOULDER_INSET_MM = 25.0
"""The acromial end lies this far inside the shoulder's skin (fat and deltoid), mm."""
SCAPULA_SEMI_HEIGHT_MM = 80.0
"""Half the scapula's height (superior to inferior angle), mm."""
SCAPULA_HALF_THICKNESS_MM = 5.0
"""Half the scapula's mean thickness (thin blade, thick borders, spine and glenoid), mm."""
SCAPULA_MEDIAL_MM = 55.0
"""The medial border's distance from the spine's x, mm."""
SCAPULA_WIDTH_MM = 100.0
"""Medial border to glenoid, mm (measured along x)."""
SCAPULA_OFF_RIBS_MM = 18.0
"""From the rib cage's outer surface to the scapula's mid-plane (serratus anterior, subscapularis), mm."""
MANUBRIUM_SEMI_AXES_MM = (25.0, 6.0, 25.0)
"""Manubrium half-width, half-thickness and half-height, mm."""
GIRDLE_CORTICAL_MM = 1.0
"""Cortical shell of the girdle's bones, mm."""


@dataclass(frozen=True, eq=False)
class ShoulderGirdle:
    """The shoulder girdle in the phantom frame, mm.

    Args:
        clavicles: per side (left, right) its medial and lateral segments (an S-shaped bone as two rods).
        scapulae: left and right scapula, each a curved plate following the chest wall (:class:`ArcTube` whose
            out-of-plane height is the scapula's height).
        manubrium: the top of the sternum, an ellipsoid.
        cortical: cortical shell thickness, mm.
    """

    clavicles: tuple[tuple[Rod, Rod], tuple[Rod, Rod]]
    scapulae: tuple[ArcTube, ArcTube]
    manubrium: Ellipsoid
    cortical: float


def place_shoulder_girdle(vertebrae: list[Vertebra], ribs: list[ArcTube], sternum: Rod, body: Body) -> ShoulderGirdle:
    """Clavicles from the manubrium to the shoulders, scapulae on the back of ribs 2–7, the manubrium on the sternum."""
    s = body.scale
    v = _by_name(vertebrae)
    top = sternum.start  # the sternum's top: the anterior pole of the first rib ring
    down = (sternum.end - sternum.start) / np.linalg.norm(sternum.end - sternum.start)
    manubrium = Ellipsoid(top + MANUBRIUM_SEMI_AXES_MM[2] * s * down, np.array(MANUBRIUM_SEMI_AXES_MM) * s)
    reach = body.shoulder_half_width - body.fat_mm * FAT_PROFILE["shoulder"] - SHOULDER_INSET_MM * s
    spine = v["T4"].centre
    clavicles, scapulae = [], []
    for side in (1.0, -1.0):
        medial = top + np.array([side * CLAVICLE_MEDIAL_GAP_MM * s, 0.0, 0.0])
        lateral = np.array([spine[0] + side * reach, spine[1], medial[2] - CLAVICLE_RISE_MM * s])
        bend = medial + 2.0 / 3.0 * (lateral - medial) + np.array([0.0, CLAVICLE_BOW_MM * s, 0.0])
        up, r = np.array([0.0, 0.0, 1.0]), CLAVICLE_HALF_MM * s
        clavicles.append((Rod(medial, bend, up, r, r), Rod(bend, lateral, up, r, r)))
        scapulae.append(_scapula(side, ribs, v, s))
    return ShoulderGirdle(tuple(clavicles), tuple(scapulae), manubrium, GIRDLE_CORTICAL_MM * s)


def _scapula(side: float, ribs: list[ArcTube], v: dict[str, Vertebra], s: float) -> ArcTube:
    """A scapula: an arc in the horizontal plane at mid-height (between ribs 2 and 7) outside the rib cage, from the
    medial border to the glenoid, as tall as the scapula."""
    rib = next(r for r in ribs if r.side == side and r.name.endswith("_4"))
    grow = rib.half_thickness + SCAPULA_OFF_RIBS_MM * s
    a = rib.semi_axes[0] + grow
    b = rib.semi_axes[1] * rib.axes[1, 1] + grow  # the sloping ring's horizontal depth
    centre = rib.centre.copy()
    centre[2] = 0.5 * (v["T2"].centre[2] + v["T7"].centre[2])
    spine_x = v["T4"].centre[0] - centre[0]
    medial = side * (spine_x + side * SCAPULA_MEDIAL_MM * s)  # along the ring's lateral axis, toward ``side``
    lateral = min(medial + SCAPULA_WIDTH_MM * s, 0.95 * a)
    angles = (-float(np.arccos(np.clip(medial / a, -0.95, 0.95))), -float(np.arccos(lateral / a)))
    axes = np.stack([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], axis=1)
    return ArcTube(
        name=f"scapula_{'left' if side > 0 else 'right'}",
        side=side,
        centre=centre,
        axes=axes,
        semi_axes=(a, b),
        angles=angles,
        half_thickness=SCAPULA_HALF_THICKNESS_MM * s,
        half_height=SCAPULA_SEMI_HEIGHT_MM * s,
        cortical=GIRDLE_CORTICAL_MM * s,
    )
