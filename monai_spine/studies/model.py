"""A rendered study in memory, whatever rendered it (the phantom, a user's CT): the images, masks and truth to write.

A :class:`RenderedStudy` holds one optional part per modality and the truth that does not belong to one image:

- ``dxa`` (:class:`DxaPart`): a coronal dual-energy image pair, bone and soft-tissue areal densities (g/cm²),
  its spine-column mask and truth curves, on a pixel grid ``pixel_mm`` whose pixel ``(0, 0)`` centre lies at
  ``origin_mm`` = patient-frame ``(x, z)`` (parallel beam along y).
- ``ap`` and ``lateral`` (:class:`RadiographPart`): radiographs (log-transmission, arbitrary units), masks and
  truth curves through a :class:`~monai_spine.projection.Projection` (cone or slot-scan beam).
- ``ct`` (:class:`CtPart`): a volume in HU with vertebra labels and a spine-column mask.
- ``mri`` (:class:`MriPart`): Dixon in-phase, water and fat magnitude volumes (and other contrasts, e.g. T2) and a
  spine-column mask.

Frames (``docs/frames.md``): every position of the truth is in mm. The **patient frame** has x toward the patient's
left, y anterior, z toward the feet; ``subject["centre_line_mm"]`` and vertebra centres are in it. 2D images are
``(W, H)`` arrays, axis 0 along the image's columns (x for coronal views, y for lateral ones), axis 1 along its rows
(toward the feet); a part's ``truth`` curves are in its image frame: mm from the centre of pixel ``(0, 0)``.
Volumes are ``(X, Y, Z)`` arrays in the ``LAI`` orientation (axes along the patient frame's x, y, z); their
``affine`` maps voxel indices to RAS mm (NIfTI, MONAI) and their truth curves and ``centre_line_mm`` are in the
volume frame: mm from the centre of voxel ``(0, 0, 0)`` along its axes.

:func:`~monai_spine.studies.write.write_study` writes a study as files; the files and ``truth.json`` are described
there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch

from monai_spine.geometry import SpineCurves
from monai_spine.geometry.extract import BoundaryCurves
from monai_spine.projection import Projection

__all__ = ["DxaPart", "RadiographPart", "CtPart", "MriPart", "RenderedStudy", "lai_origin_spacing"]

Array = np.ndarray | torch.Tensor


def lai_origin_spacing(affine) -> tuple[list[float], list[float]]:
    """Patient-frame origin (centre of voxel ``(0, 0, 0)``) and voxel size, mm, of an ``LAI`` volume's RAS affine.

    The affine of an ``LAI`` volume is ``diag(−sx, sy, −sz)`` with the RAS position of voxel ``(0, 0, 0)``; the
    patient frame's x (left) is RAS −x and its z (feet) RAS −z.
    """
    affine = np.asarray(affine, dtype=np.float64)
    flips = np.array([-1.0, 1.0, -1.0])
    return (flips * affine[:3, 3]).tolist(), np.abs(np.diag(affine)[:3]).tolist()


@dataclass(frozen=True)
class DxaPart:
    """A coronal DXA: ``bone``, ``soft`` ``(W, H)`` areal densities, g/cm²; ``mask`` ``(W, H)`` bool spine column;
    ``pixel_mm`` (column, row) and ``origin_mm`` patient-frame ``(x, z)`` of pixel ``(0, 0)``, mm; ``truth`` the six
    curves in the image frame, mm."""

    bone: Array
    soft: Array
    mask: Array
    pixel_mm: tuple[float, float]
    origin_mm: tuple[float, float]
    truth: SpineCurves


@dataclass(frozen=True)
class RadiographPart:
    """An AP or lateral radiograph: ``image`` and ``mask`` ``(W, H)``, its ``geometry`` and ``truth`` (the view's
    centre and boundary curves in the image frame, mm)."""

    image: Array
    mask: Array
    geometry: Projection
    truth: BoundaryCurves


@dataclass(frozen=True)
class CtPart:
    """A CT volume: ``hu`` ``(X, Y, Z)`` HU, ``vertebra_labels`` uint8 (TotalSegmentator ids), ``spine_mask``
    bool, on ``affine`` (``LAI`` voxels → RAS mm); ``truth`` curves and ``centre_line_mm`` ``(N, 3)`` in the volume
    frame."""

    hu: Array
    vertebra_labels: Array
    spine_mask: Array
    affine: np.ndarray
    truth: SpineCurves
    centre_line_mm: np.ndarray


@dataclass(frozen=True)
class MriPart:
    """A Dixon MRI: ``in_phase``, ``water``, ``fat`` ``(X, Y, Z)`` magnitudes (arbitrary units), ``spine_mask``
    bool, on ``affine`` (``LAI`` voxels → RAS mm); ``truth`` curves and ``centre_line_mm`` ``(N, 3)`` in the
    volume frame; ``frame`` adds entries to its ``truth.json`` frame (e.g. the pose it was moved by);
    ``contrasts`` other images of the same grid by name (e.g. ``{"t2": ...}``, a T2-weighted volume); ``tissues``
    the tissue label map the images were generated from (:class:`~monai_spine.transforms.TissueLabel` values), where
    there is one (``drr``), so that training can generate other contrasts from it."""

    in_phase: Array
    water: Array
    fat: Array
    spine_mask: Array
    affine: np.ndarray
    truth: SpineCurves
    centre_line_mm: np.ndarray
    frame: Mapping = field(default_factory=dict)
    contrasts: Mapping[str, Array] = field(default_factory=dict)
    tissues: Array | None = None


@dataclass(frozen=True)
class RenderedStudy:
    """One study to write: its parts (``None`` where not rendered) and the truth about the subject.

    Args:
        source: what rendered it, e.g. ``"phantom"``: in the DICOM UIDs (``monai-spine-<source>-<seed>``),
            series descriptions (``monai-spine <source> ...``) and PatientName (``<Source>^Spine``).
        seed: the study's seed.
        labels: per-study keys written after ``seed`` in both ``truth.json`` and the datalist entry (e.g.
            ``scoliotic``).
        subject: truth about the subject, written next in ``truth.json`` in its order (e.g. ``shape``,
            ``measures``, ``centre_line_mm`` and ``vertebrae`` in the patient frame).
        patient_frame: how the patient frame is placed (``truth.json``'s ``frames.phantom``).
        relations: truth linking parts, written after the frames (e.g. ``matrix_mri_to_dxa``).
    """

    source: str
    seed: int
    labels: Mapping
    subject: Mapping
    patient_frame: str
    ct: CtPart | None = None
    mri: MriPart | None = None
    dxa: DxaPart | None = None
    ap: RadiographPart | None = None
    lateral: RadiographPart | None = None
    relations: Mapping = field(default_factory=dict)

    @property
    def uid(self) -> str:
        """The seed of the study's DICOM UIDs."""
        return f"monai-spine-{self.source}-{self.seed}"
