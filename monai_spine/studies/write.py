"""A rendered study on disk: one folder of NIfTI volumes and masks, DICOM images and ``truth.json``.

Files, by modality group (:data:`MODALITIES`), for the parts a :class:`~monai_spine.studies.model.RenderedStudy`
holds:

- ``ct``: ``ct.nii.gz`` (HU, int16), ``ct_vertebrae.nii.gz`` (uint8 TotalSegmentator ids), ``ct_spine.nii.gz``
  (uint8 spine column), on the CT's affine; with ``ct_dicom`` also ``ct_dicom/`` (an axial series, HU);
- ``mri``: ``mri_in_phase.nii.gz``, ``mri_water.nii.gz``, ``mri_fat.nii.gz`` (uint16, the three scaled together
  to at most :data:`MRI_MAX_STORED`, as scanners store magnitudes), ``mri_spine.nii.gz``, and per other
  contrast of the part ``mri_<name>.nii.gz`` (uint16, scaled on its own; datalist key ``mri_<name>``); where the
  part has its tissue label map, ``mri_tissues.nii.gz`` (uint8 ``TissueLabel`` values, datalist key ``mri_tissues``);
- ``dxa``: ``dxa.dcm`` (bone areal density, g/cm², secondary capture), ``dxa_soft.dcm`` (soft tissue),
  ``dxa_spine.nii.gz``;
- ``biplanar``: ``ap.dcm``, ``lateral.dcm`` (DX, with ViewPosition, the source distances, ImagerPixelSpacing and,
  for a slot scan, ScanOptions ``SLOT_SCAN``), ``ap_spine.nii.gz``, ``lateral_spine.nii.gz``.

2D masks are ``(W, H)`` NIfTI with the pixel spacing on the diagonal of the affine. Every DICOM file passes dciodvfy
(:mod:`.dicom`); the DXA images read back to within (max − min) / 65535 of the rendered values, the AP and lateral
(DX, no rescale allowed) hold the rendered range mapped onto 0 … 65535; their UIDs come from the study's ``uid``, so
the same study gives byte-identical files.

``truth.json`` (schema :data:`TRUTH_SCHEMA`): ``schema``, ``seed``, the study's ``labels`` and ``subject``; then
``frames``: ``phantom`` (the patient frame) and per written part its frame (``ct``, ``mri``: ``origin_mm`` and
``spacing_mm`` of voxel ``(0, 0, 0)`` in the patient frame; ``dxa``: ``origin_mm`` and ``pixel_mm``; ``ap``,
``lateral``: the projection geometry); the study's ``relations``; ``curves`` per written image (the six curves
``coronal_centre`` … ``sagittal_anterior`` for ``dxa``, ``ct`` and ``mri``; three for ``ap`` (coronal) and
``lateral`` (sagittal)), each ``(209, 2)`` mm in that image's frame, rounded to µm; ``centre_line_in`` per written
volume (its frame, mm); ``files`` (the written files by key, relative to the study folder's parent).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nibabel as nib
import numpy as np
import torch

from monai_spine.geometry import CURVE_NAMES, SpineCurves
from monai_spine.geometry.extract import BoundaryCurves

from .dicom import write_ct_series, write_radiograph
from .model import CtPart, DxaPart, MriPart, RadiographPart, RenderedStudy, lai_origin_spacing

__all__ = ["MODALITIES", "TRUTH_SCHEMA", "MRI_MAX_STORED", "FILES", "write_study"]

TRUTH_SCHEMA = "monai-spine/phantom-truth/v1"
MRI_MAX_STORED = 4095.0  # 12-bit magnitude images, as scanners store them

MODALITIES = ("ct", "mri", "dxa", "biplanar")
"""Groups of files a study can hold, in the order they are written; ``truth.json`` is always written."""

FILES = {
    "ct": {"ct": "ct.nii.gz", "ct_vertebrae": "ct_vertebrae.nii.gz", "ct_spine": "ct_spine.nii.gz"},
    "mri": {"mri": "mri_in_phase.nii.gz", "mri_water": "mri_water.nii.gz", "mri_fat": "mri_fat.nii.gz",
            "mri_spine": "mri_spine.nii.gz"},
    "dxa": {"dxa": "dxa.dcm", "dxa_soft": "dxa_soft.dcm", "dxa_spine": "dxa_spine.nii.gz"},
    "biplanar": {"ap": "ap.dcm", "ap_spine": "ap_spine.nii.gz", "lateral": "lateral.dcm",
                 "lateral_spine": "lateral_spine.nii.gz"},
}
"""File names by datalist key, per modality group."""

_CURVE_ORDER = ("dxa", "ap", "lateral", "ct", "mri")
_SERIES_NUMBERS = {"ct_dicom": 1, "dxa": 2, "dxa_soft": 3, "ap": 4, "lateral": 5}
"""DICOM SeriesNumber of each written DICOM image or series, by datalist key."""
_VIEW_CURVES = {"ap": CURVE_NAMES[:3], "lateral": CURVE_NAMES[3:]}


def _numpy(volume) -> np.ndarray:
    return volume.detach().cpu().numpy() if isinstance(volume, torch.Tensor) else np.asarray(volume)


def _round(values) -> list:
    return np.round(values, 3).tolist()


def _save_volume(path: Path, volume, affine: np.ndarray, dtype) -> None:
    nib.save(nib.Nifti1Image(_numpy(volume).astype(dtype), affine), path)


def _save_mask_2d(path: Path, mask, pixel_mm) -> None:
    """A 2D mask ``(W, H)`` as NIfTI: axis 0 along columns, axis 1 along rows, spacing in the header."""
    nib.save(nib.Nifti1Image(_numpy(mask).astype(np.uint8), np.diag([*map(float, pixel_mm), 1.0, 1.0])), path)


def _curves_dict(curves: SpineCurves | BoundaryCurves, names) -> dict:
    arrays = curves.to_array() if isinstance(curves, SpineCurves) else np.stack(curves)
    return {name: _round(a) for name, a in zip(names, arrays)}


def _volume_frame(part: CtPart | MriPart) -> dict:
    origin, spacing = lai_origin_spacing(part.affine)
    return {"origin_mm": origin, "spacing_mm": spacing, **getattr(part, "frame", {})}


def _frames(study: RenderedStudy) -> dict:
    frames = {"phantom": study.patient_frame}
    for name in ("ct", "mri"):
        if getattr(study, name) is not None:
            frames[name] = _volume_frame(getattr(study, name))
    if study.dxa is not None:
        frames["dxa"] = {"origin_mm": list(study.dxa.origin_mm), "pixel_mm": list(study.dxa.pixel_mm)}
    for view in ("ap", "lateral"):
        if getattr(study, view) is not None:
            frames[view] = getattr(study, view).geometry.to_dict()
    return frames


def _truth(study: RenderedStudy, files: dict) -> dict:
    """The ``truth.json`` document of the module docstring."""
    parts = {name: getattr(study, name) for name in _CURVE_ORDER if getattr(study, name) is not None}
    document = {"schema": TRUTH_SCHEMA, "seed": study.seed, **study.labels, **study.subject,
                "frames": _frames(study), **study.relations}
    document["curves"] = {name: _curves_dict(part.truth, _VIEW_CURVES.get(name, CURVE_NAMES))
                          for name, part in parts.items()}
    volumes = {name: _round(parts[name].centre_line_mm) for name in ("ct", "mri") if name in parts}
    if volumes:
        document["centre_line_in"] = volumes
    document["files"] = files
    return document


def _write_ct(ct: CtPart, folder: Path, study: RenderedStudy, ct_dicom: bool) -> None:
    _save_volume(folder / "ct.nii.gz", ct.hu.round(), ct.affine, np.int16)
    _save_volume(folder / "ct_vertebrae.nii.gz", ct.vertebra_labels, ct.affine, np.uint8)
    _save_volume(folder / "ct_spine.nii.gz", ct.spine_mask, ct.affine, np.uint8)
    if ct_dicom:
        origin, spacing = lai_origin_spacing(ct.affine)
        write_ct_series(folder / "ct_dicom", _numpy(ct.hu), spacing, np.asarray(origin) * [1.0, -1.0, -1.0],
                        uid_seed=study.uid, description=f"monai-spine {study.source} CT",
                        patient_name=_patient_name(study), series_number=_SERIES_NUMBERS["ct_dicom"])


def _write_mri(mri: MriPart, folder: Path) -> None:
    scale = MRI_MAX_STORED / float(max(mri.in_phase.max(), mri.water.max(), mri.fat.max()))
    for name in ("in_phase", "water", "fat"):
        _save_volume(folder / f"mri_{name}.nii.gz", (getattr(mri, name) * scale).round(), mri.affine, np.uint16)
    _save_volume(folder / "mri_spine.nii.gz", mri.spine_mask, mri.affine, np.uint8)
    for name, image in mri.contrasts.items():
        scale = MRI_MAX_STORED / float(image.max())
        _save_volume(folder / f"mri_{name}.nii.gz", (image * scale).round(), mri.affine, np.uint16)
    if mri.tissues is not None:
        _save_volume(folder / "mri_tissues.nii.gz", mri.tissues, mri.affine, np.uint8)


def _write_dxa(dxa: DxaPart, folder: Path, study: RenderedStudy) -> None:
    for name, image, uid, what in (("dxa", dxa.bone, study.uid, "bone"), ("dxa_soft", dxa.soft, study.uid + "-soft",
                                                                           "soft tissue")):
        write_radiograph(folder / f"{name}.dcm", _numpy(image), dxa.pixel_mm, uid_seed=uid, modality="OT",
                         description=f"monai-spine {study.source} DXA {what}", patient_name=_patient_name(study),
                         series_number=_SERIES_NUMBERS[name])
    _save_mask_2d(folder / "dxa_spine.nii.gz", dxa.mask, dxa.pixel_mm)


def _write_radiograph(view: str, part: RadiographPart, folder: Path, study: RenderedStudy) -> None:
    geometry = part.geometry
    tags = {
        "ViewPosition": "AP" if view == "ap" else "LL",
        "DistanceSourceToDetector": f"{geometry.source_to_detector_mm:.2f}",
        "DistanceSourceToPatient": f"{geometry.source_to_isocentre_mm:.2f}",
        "ImagerPixelSpacing": [f"{geometry.pixel_mm[1]:.6g}", f"{geometry.pixel_mm[0]:.6g}"],
    }
    if geometry.TYPE == "slot_scan":  # how projection.calibration tells an EOS-like slot scan from a cone beam
        tags["ScanOptions"] = "SLOT_SCAN"
    write_radiograph(folder / f"{view}.dcm", _numpy(part.image), geometry.pixel_mm, uid_seed=study.uid,
                     frame="coronal" if view == "ap" else "lateral", modality="DX",
                     description=f"monai-spine {study.source} {view}", patient_name=_patient_name(study),
                     series_number=_SERIES_NUMBERS[view], tags=tags)
    _save_mask_2d(folder / f"{view}_spine.nii.gz", part.mask, geometry.pixel_mm)


def _patient_name(study: RenderedStudy) -> str:
    return f"{study.source.capitalize()}^Spine"


def _files(study: RenderedStudy, name: str, ct_dicom: bool) -> dict:
    """The study's files by datalist key, relative to its folder's parent (``name`` the folder's name)."""
    names = {}
    for group in MODALITIES:
        names.update({key: file for key, file in FILES[group].items()
                      if getattr(study, key.split("_")[0]) is not None})  # the part of "ct_spine" is "ct"
        if group == "mri" and study.mri is not None:
            names.update({f"mri_{contrast}": f"mri_{contrast}.nii.gz" for contrast in study.mri.contrasts})
            if study.mri.tissues is not None:
                names["mri_tissues"] = "mri_tissues.nii.gz"
    if ct_dicom and study.ct is not None:
        names["ct_dicom"] = "ct_dicom"
    return {key: f"{name}/{file}" for key, file in names.items()}


def write_study(study: RenderedStudy, folder: str | os.PathLike, ct_dicom: bool = False) -> dict:
    """Write ``study``'s parts and ``truth.json`` into ``folder`` (created; see the module docstring).

    Returns:
        the study's datalist entry: ``id`` (the folder's name), ``seed``, the study's ``labels`` and the written
        files by key (paths relative to the folder's parent), as MONAI datalists hold them.
    """
    folder = Path(folder)
    folder.mkdir(parents=True)
    if study.ct is not None:
        _write_ct(study.ct, folder, study, ct_dicom)
    if study.mri is not None:
        _write_mri(study.mri, folder)
    if study.dxa is not None:
        _write_dxa(study.dxa, folder, study)
    for view in ("ap", "lateral"):
        if getattr(study, view) is not None:
            _write_radiograph(view, getattr(study, view), folder, study)
    files = _files(study, folder.name, ct_dicom)
    files["truth"] = f"{folder.name}/truth.json"
    with open(folder / "truth.json", "w") as f:
        json.dump(_truth(study, files), f, indent=1)
    return {"id": folder.name, "seed": study.seed, **study.labels, **files}
