"""The thorax: ribs, the rib cage's inner surface, lungs, heart, trachea and sternum."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .body import FAT_PROFILE, POSTERIOR_DEPTH_MM, TORSO_STEP_MM, Body
from .primitives import ArcTube, Ellipsoid, Rod
from .spine import Vertebra, _by_name, _Line, posterior_elements

__all__ = ["Thorax", "Lung", "place_ribs", "place_thorax", "place_lungs_and_heart", "place_trachea", "place_sternum"]


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


def place_ribs(vertebrae: list[Vertebra], line: _Line, body: Body) -> list[ArcTube]:
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


def place_thorax(ribs: list[ArcTube], line: _Line, scale: float) -> Thorax:
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


def place_lungs_and_heart(
    vertebrae: list[Vertebra], thorax: Thorax, scale: float
) -> tuple[tuple[Lung, Lung], Ellipsoid]:
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


def place_trachea(vertebrae: list[Vertebra], scale: float) -> Rod:
    """The trachea from 12 cm above C7 to the carina at T5, in front of the spine."""
    v = _by_name(vertebrae)

    def front(name: str) -> np.ndarray:
        vert = v[name]
        ahead = 0.5 * vert.dims.endplate_depth + (TRACHEA_FRONT_OF_BODY_MM + TRACHEA_RADIUS_MM) * scale
        return vert.centre + ahead * np.array([0.0, 1.0, 0.0])

    top = front("C7") - np.array([0.0, 0.0, 120.0 * scale])
    r = TRACHEA_RADIUS_MM * scale
    return Rod(top, front("T5"), np.array([1.0, 0.0, 0.0]), r, r)


def place_sternum(ribs: list[ArcTube], scale: float) -> Rod:
    """The sternum between the anterior poles of the first and seventh rib rings."""
    left = [rib for rib in ribs if rib.side > 0]  # ribs 1…12 of one side; both share their rings
    first, seventh = left[0], left[6]
    half_width, half_thickness = (h * scale for h in STERNUM_HALF)
    return Rod(first.point(np.pi / 2), seventh.point(np.pi / 2), np.array([1.0, 0.0, 0.0]), half_thickness, half_width)
