"""The body around the skeleton: a person's build (:class:`Body`), the torso envelope and its fat layer."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from scipy.interpolate import PchipInterpolator

from .spine import Vertebra, _by_name, _check_scale, _Line

__all__ = ["Body", "VERTEBRAL_BODY_FACTOR_RANGE", "POSTERIOR_EXPONENT_RANGE", "VERTEBRAL_BODY_RANGES",
           "sample_body", "Torso", "TORSO_STEP_MM",
           "POSTERIOR_DEPTH_MM", "FAT_PROFILE", "place_torso", "skin_y"]


VERTEBRAL_BODY_FACTORS = ("vertebral_body_width", "vertebral_body_depth")
"""The fields of :class:`Body` that multiply the vertebral bodies' endplate width and depth beyond the scale."""
VERTEBRAL_BODY_FACTOR_RANGE = (0.7, 1.5)
"""Allowed range of the :data:`VERTEBRAL_BODY_FACTORS`."""
POSTERIOR_EXPONENT_RANGE = (2.0, 6.0)
"""Allowed range of ``Body.vertebral_body_posterior_exponent``."""
VERTEBRAL_BODY_RANGES = {
    **dict.fromkeys(VERTEBRAL_BODY_FACTORS, VERTEBRAL_BODY_FACTOR_RANGE),
    "vertebral_body_posterior_exponent": POSTERIOR_EXPONENT_RANGE,
}
"""The :class:`Body` fields that shape the vertebral bodies → their allowed ranges (``StudyConfig`` draws them)."""


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
        vertebral_body_width, vertebral_body_depth: factors on every vertebral body's endplate width and depth
            beyond ``scale`` (1: the reference proportions), 0.7–1.5. Bodies differ in size between people of one
            stature, more in depth than in width, and grow with age (periosteal apposition, osteophytes):
            ``docs/phantom_anatomy.md``. :func:`sample_body` leaves them at 1; ``StudyConfig`` draws them.
        vertebral_body_posterior_exponent: superellipse exponent of every vertebral body's axial section behind its
            centre, 2–6: 2 elliptic, as in front; 4 a flat posterior wall with full posterolateral corners, where the
            pedicles join, as lumbar bodies have (``docs/phantom_anatomy.md``). :func:`sample_body` leaves it at 2;
            ``StudyConfig`` draws it.
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
    vertebral_body_width: float = 1.0
    vertebral_body_depth: float = 1.0
    vertebral_body_posterior_exponent: float = 2.0

    def __post_init__(self):
        _check_scale(self.scale)
        for name, (least, most) in VERTEBRAL_BODY_RANGES.items():
            if not least <= getattr(self, name) <= most:
                raise ValueError(f"Body.{name} must be in {(least, most)}, got {getattr(self, name)}.")
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name not in ("scale", *VERTEBRAL_BODY_RANGES) and not (np.isfinite(value) and value > 0):
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


def _smooth_profile(z_anchor, values, z_out) -> np.ndarray:
    """Monotone-cubic interpolation (PCHIP) of anchor values at ``z_out``, held constant beyond the anchors."""
    return PchipInterpolator(z_anchor, values)(np.clip(z_out, z_anchor[0], z_anchor[-1]))


def place_torso(vertebrae: list[Vertebra], line: _Line, body: Body) -> Torso:
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


def skin_y(torso: Torso, z: float, x: float, side: float = 1.0) -> float:
    """y of the skin's anterior (``side`` +1) or posterior (−1) surface at height ``z`` and ``x``, mm."""
    cx, cy, hw, hd = (float(np.interp(z, torso.z, a)) for a in (torso.centre_x, torso.centre_y, torso.half_width,
                                                                 torso.half_depth))
    u = min(abs(x - cx) / hw, 0.99)
    return cy + side * hd * (1.0 - u**torso.exponent) ** (1.0 / torso.exponent)
