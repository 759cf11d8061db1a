"""The pelvis and upper limbs of the trunk: hip bones (iliac wings, pelvic brim, rami) and upper femurs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .primitives import ArcTube, Ellipsoid, Rod
from .spine import Sacrum

__all__ = ["IliacWing", "HipBone", "Femur", "place_pelvis"]


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


def place_pelvis(sacrum: Sacrum, scale: float) -> tuple[list[HipBone], list[Femur]]:
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
