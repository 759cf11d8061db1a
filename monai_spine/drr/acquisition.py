"""The sampled acquisition of one ``drr`` study: pose, field of view, DXA and radiograph settings.

Every draw comes from the study's seed (``numpy.random.Generator``), so a study is reproducible. Ranges are
module constants; ``docs/drr.md`` lists them with their sources.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["Acquisition", "GEOMETRIES"]

GEOMETRIES = ("slot_scan", "cone")
"""Bi-planar geometries drawn with equal odds: EOS-like slot scan, conventional cone beam."""

MAX_ROTATION_DEG = (3.0, 3.0, 5.0)
"""Largest rotation of the patient about x (flexion), y (lateral tilt) and z (axial turn), degrees."""

MAX_TRANSLATION_MM = 10.0
"""Largest shift of the patient along each axis, mm."""

SOURCE_TO_DETECTOR_MM = {"slot_scan": (1300.0, 1300.0), "cone": (1000.0, 1800.0)}
"""Source-to-detector distance per geometry, mm: EOS fixed at 1.3 m; radiographic rooms 1.0 (table) to 1.8 m
(chest stand)."""

OBJECT_TO_DETECTOR_MM = (200.0, 400.0)
"""Distance from the isocentre (the spine) to the detector, mm."""

RADIOGRAPH_PIXEL_MM = (1.0, 2.0)
"""Detector pixel spacing of the AP and lateral views, mm (stored images are often binned to this)."""

RADIOGRAPH_ENERGY_KEV = (50.0, 75.0)
"""Effective energy of the AP and lateral beams, keV (about 80–120 kVp with filtration)."""

EXPOSURE = (0.4, 2.5)
"""Exposure per view relative to the nominal one, drawn log-uniformly: the automatic exposure control's setting, a
factor on the quanta behind the spine that end the view (``monai_spine.projection.AEC_QUANTA_PER_MM2``)."""

DXA_PIXEL_MM = (0.5, 2.5)
"""DXA pixel spacing, mm."""

DXA_PHOTONS_PER_MM2 = (1.0e4, 1.0e5)
"""DXA exposure, unattenuated photons per mm² at each energy, drawn log-uniformly (as the phantom's)."""

MIN_SPINE_SHARE = 0.4
"""Shortest share of the labelled column's height that every field of view keeps."""

FIELD_MARGIN_MM = (0.0, 200.0)
"""Extra field above and below the kept part of the spine, and beside the column, mm (clipped to the CT)."""


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


@dataclass(frozen=True)
class Acquisition:
    """One study's acquisition. Lengths in mm, in the patient volume frame of the CT.

    Args:
        rotation_deg: rotation of the patient about x, y, z through ``centre_mm`` (applied in that order).
        translation_mm: shift of the patient after the rotation.
        centre_mm: centre of the rotation (the spine column's centre).
        field_x_mm, field_z_mm: ``(low, high)`` of the field of view along x (DXA and AP) and z (every image).
        geometry: ``"slot_scan"`` or ``"cone"`` for the AP and lateral views.
        source_to_detector_mm, source_to_isocentre_mm: their distances.
        radiograph_pixel_mm: their detector pixel spacing.
        radiograph_energy_kev: their effective energy.
        exposure: ``(AP, lateral)`` exposure relative to the nominal one (the AEC's setting).
        dxa_pixel_mm: DXA pixel spacing.
        dxa_photons_per_mm2: DXA exposure.
    """

    rotation_deg: tuple[float, float, float]
    translation_mm: tuple[float, float, float]
    centre_mm: tuple[float, float, float]
    field_x_mm: tuple[float, float]
    field_z_mm: tuple[float, float]
    geometry: str
    source_to_detector_mm: float
    source_to_isocentre_mm: float
    radiograph_pixel_mm: float
    radiograph_energy_kev: float
    exposure: tuple[float, float]
    dxa_pixel_mm: float
    dxa_photons_per_mm2: float

    @classmethod
    def sample(cls, rng: np.random.Generator, column_box, volume_box) -> Acquisition:
        """Draw an acquisition for a column spanning ``column_box`` in a CT spanning ``volume_box``.

        Args:
            rng: the study's generator.
            column_box, volume_box: ``((x, y, z) low, (x, y, z) high)`` mm.
        """
        (c_low, c_high), (v_low, v_high) = (np.asarray(b, dtype=np.float64) for b in (column_box, volume_box))
        length = c_high[2] - c_low[2]
        kept = length * rng.uniform(MIN_SPINE_SHARE, 1.0)
        top = c_low[2] + rng.uniform(0.0, length - kept)
        margins = rng.uniform(*FIELD_MARGIN_MM, size=4)
        field_z = (max(top - margins[0], v_low[2]), min(top + kept + margins[1], v_high[2]))
        field_x = (max(c_low[0] - margins[2], v_low[0]), min(c_high[0] + margins[3], v_high[0]))
        geometry = GEOMETRIES[int(rng.integers(len(GEOMETRIES)))]
        sid = float(rng.uniform(*SOURCE_TO_DETECTOR_MM[geometry]))
        return cls(
            rotation_deg=tuple(float(v) for v in rng.uniform(-1.0, 1.0, 3) * MAX_ROTATION_DEG),
            translation_mm=tuple(float(v) for v in rng.uniform(-MAX_TRANSLATION_MM, MAX_TRANSLATION_MM, 3)),
            centre_mm=tuple(float(v) for v in 0.5 * (c_low + c_high)),
            field_x_mm=tuple(float(v) for v in field_x),
            field_z_mm=tuple(float(v) for v in field_z),
            geometry=geometry,
            source_to_detector_mm=sid,
            source_to_isocentre_mm=sid - float(rng.uniform(*OBJECT_TO_DETECTOR_MM)),
            radiograph_pixel_mm=float(rng.uniform(*RADIOGRAPH_PIXEL_MM)),
            radiograph_energy_kev=float(rng.uniform(*RADIOGRAPH_ENERGY_KEV)),
            exposure=(_log_uniform(rng, *EXPOSURE), _log_uniform(rng, *EXPOSURE)),
            dxa_pixel_mm=float(rng.uniform(*DXA_PIXEL_MM)),
            dxa_photons_per_mm2=_log_uniform(rng, *DXA_PHOTONS_PER_MM2),
        )

    def rigid(self) -> tuple[np.ndarray, np.ndarray]:
        """The pose as ``p ↦ R p + t``: ``R (3, 3)`` and ``t (3,)`` mm."""
        rx, ry, rz = np.deg2rad(self.rotation_deg)
        about_x = np.array([[1, 0, 0], [0, np.cos(rx), -np.sin(rx)], [0, np.sin(rx), np.cos(rx)]])
        about_y = np.array([[np.cos(ry), 0, np.sin(ry)], [0, 1, 0], [-np.sin(ry), 0, np.cos(ry)]])
        about_z = np.array([[np.cos(rz), -np.sin(rz), 0], [np.sin(rz), np.cos(rz), 0], [0, 0, 1]])
        rotation = about_z @ about_y @ about_x
        centre = np.asarray(self.centre_mm)
        return rotation, centre - rotation @ centre + np.asarray(self.translation_mm)

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}
