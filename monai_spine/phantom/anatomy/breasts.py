"""Breasts of female builds: a fat mound with a glandular (fibroglandular) core on the anterior chest wall."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .body import Torso, skin_y
from .primitives import Ellipsoid
from .spine import Vertebra, _by_name

__all__ = ["Breast", "FEMALE_SHARE", "place_breasts"]

FEMALE_SHARE = 0.5
"""Share of studies with a female build (breasts)."""
_PROTRUSION_MM = (35.0, 110.0)
"""Range of a breast's projection in front of the chest wall, mm (cup sizes A–E; docs/phantom_anatomy.md)."""
_FRONT_ROOM_MM = 4.0
"""How far past the torso's most anterior skin point a breast may reach: the study grid ends 5 mm beyond it."""


@dataclass(frozen=True, eq=False)
class Breast:
    """One breast: ``mound`` (fat, the whole breast) and ``gland`` (fibroglandular tissue inside it), mm."""

    mound: Ellipsoid
    gland: Ellipsoid


def place_breasts(vertebrae: list[Vertebra], torso: Torso, scale: float, rng: np.random.Generator
                  ) -> tuple[Breast, ...]:
    """Two breasts with probability :data:`FEMALE_SHARE`, else none.

    Each sits on the chest wall at the height of T6–T7's bodies (the anterior 4th–6th ribs), 40 % of the chest's
    half-width beside the midline: a half ellipsoid in front of the skin, of drawn base radius (55–80 mm) and
    projection, the projection capped so that it stays inside the study grid (which is not widened for it). The
    glandular core is the same ellipsoid shrunk to 55–80 %; both replace only air and fat, never the chest wall.
    """
    if rng.random() >= FEMALE_SHARE:
        return ()
    v = _by_name(vertebrae)
    z = 0.5 * (v["T6"].centre[2] + v["T7"].centre[2]) + rng.normal(0.0, 10.0) * scale
    cx, hw = (float(np.interp(z, torso.z, a)) for a in (torso.centre_x, torso.half_width))
    front_limit = float(np.max(torso.centre_y + torso.half_depth)) + _FRONT_ROOM_MM
    base = rng.uniform(55.0, 80.0) * scale
    wanted = rng.uniform(*_PROTRUSION_MM)
    gland_share = rng.uniform(0.55, 0.8)
    breasts = []
    for side in (1.0, -1.0):
        x = cx + side * 0.4 * hw
        wall = skin_y(torso, z, x)
        protrusion = float(np.clip(front_limit - wall, 5.0, wanted))
        # centred on the skin: the half in front of it is the breast (the mound fills only air)
        mound = Ellipsoid(np.array([x, wall, z]), np.array([base, protrusion, 0.9 * base]))
        gland = Ellipsoid(mound.centre, mound.semi_axes * gland_share)
        breasts.append(Breast(mound, gland))
    return tuple(breasts)
