"""A rendered study on disk: NIfTI volumes and masks, DICOM radiographs, ``truth.json`` (``docs/phantom.md``)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict
from functools import partial
from pathlib import Path

import nibabel as nib
import numpy as np
import torch

from monai_spine.geometry import CURVE_NAMES, SpineCurves
from monai_spine.geometry.extract import BoundaryCurves
from monai_spine.geometry.grid import Grid

from .dicom import write_ct_series, write_radiograph
from .study import Study

__all__ = ["MODALITIES", "TRUTH_SCHEMA", "write_study"]

TRUTH_SCHEMA = "monai-spine/phantom-truth/v1"
MRI_MAX_STORED = 4095.0  # 12-bit magnitude images, as scanners store them


def _numpy(volume) -> np.ndarray:
    return volume.detach().cpu().numpy() if isinstance(volume, torch.Tensor) else np.asarray(volume)


def _save_volume(path: Path, volume, grid: Grid, dtype) -> None:
    nib.save(nib.Nifti1Image(_numpy(volume).astype(dtype), grid.affine_ras()), path)


def _save_mask_2d(path: Path, mask, pixel_mm) -> None:
    """A 2D mask ``(W, H)`` as NIfTI: axis 0 along columns, axis 1 along rows, spacing in the header."""
    nib.save(nib.Nifti1Image(_numpy(mask).astype(np.uint8), np.diag([*map(float, pixel_mm), 1.0, 1.0])), path)


def _curves_dict(curves: SpineCurves | BoundaryCurves, names) -> dict:
    arrays = curves.to_array() if isinstance(curves, SpineCurves) else np.stack(curves)
    return {name: np.round(a, 3).tolist() for name, a in zip(names, arrays)}


def _truth(study: Study, files: dict) -> dict:
    mri = study.mri
    ct_origin = np.asarray(study.grid.origin)
    return {
        "schema": TRUTH_SCHEMA,
        "seed": study.seed,
        "scoliotic": study.scoliotic,
        "shape": study.shape.to_dict(),
        "body": asdict(study.anatomy.body),
        "measures": study.measures,
        "centre_line_mm": np.round(study.centre_line, 3).tolist(),
        "vertebrae": [
            {"name": v.name, "label": v.label, "centre_mm": np.round(v.centre, 3).tolist(), "rotation_deg": v.rotation_deg}
            for v in study.anatomy.vertebrae
        ],
        "frames": {
            "phantom": "x toward the patient's left, y anterior, z toward the feet, mm; origin at the top of the "
            "centre line (x, y: its mean)",
            "ct": {"origin_mm": list(study.grid.origin), "spacing_mm": list(study.grid.spacing)},
            "mri": {
                "origin_mm": list(mri.grid.origin),
                "spacing_mm": list(mri.grid.spacing),
                "pose": asdict(mri.pose),
                "posture": asdict(mri.posture),
            },
            "dxa": {"origin_mm": list(study.dxa.origin_mm), "pixel_mm": list(study.dxa.pixel_mm)},
            "ap": study.ap_geometry.to_dict(),
            "lateral": study.lateral_geometry.to_dict(),
        },
        "matrix_mri_to_dxa": np.round(mri.matrix_mri_to_dxa(study.dxa), 6).tolist(),
        "mri_posture_changed": bool(mri.posture.bend_mm or mri.posture.lordosis_mm),
        "curves": {
            "dxa": _curves_dict(study.truth_curves["dxa"], CURVE_NAMES),
            "ap": _curves_dict(study.truth_curves["ap"], ("coronal_centre", "coronal_right", "coronal_left")),
            "lateral": _curves_dict(
                study.truth_curves["lateral"], ("sagittal_centre", "sagittal_posterior", "sagittal_anterior")
            ),
            "ct": _curves_dict(study.truth_curves["ct"], CURVE_NAMES),
            "mri": _curves_dict(study.truth_curves["mri"], CURVE_NAMES),
        },
        "centre_line_in": {
            "ct": np.round(study.centre_line - ct_origin, 3).tolist(),
            "mri": np.round(mri.phantom_to_mri(study.centre_line) - np.asarray(mri.grid.origin), 3).tolist(),
        },
        "files": files,
    }


MODALITIES = ("ct", "mri", "dxa", "biplanar")
"""Groups of files ``write_study`` can write; ``truth.json`` is always written."""

_FILES = {
    "ct": {"ct": "ct.nii.gz", "ct_vertebrae": "ct_vertebrae.nii.gz", "ct_spine": "ct_spine.nii.gz"},
    "mri": {"mri": "mri_in_phase.nii.gz", "mri_water": "mri_water.nii.gz", "mri_fat": "mri_fat.nii.gz",
            "mri_spine": "mri_spine.nii.gz"},
    "dxa": {"dxa": "dxa.dcm", "dxa_soft": "dxa_soft.dcm", "dxa_spine": "dxa_spine.nii.gz"},
    "biplanar": {"ap": "ap.dcm", "ap_spine": "ap_spine.nii.gz", "lateral": "lateral.dcm",
                 "lateral_spine": "lateral_spine.nii.gz"},
}


def _write_ct(study: Study, folder: Path, uid: str, ct_dicom: bool) -> None:
    grid = study.grid
    _save_volume(folder / "ct.nii.gz", study.ct.round(), grid, np.int16)
    _save_volume(folder / "ct_vertebrae.nii.gz", study.raster.vertebra_labels, grid, np.uint8)
    _save_volume(folder / "ct_spine.nii.gz", study.raster.spine_mask, grid, np.uint8)
    if ct_dicom:
        origin_lps = np.asarray(grid.origin) * [1.0, -1.0, -1.0]
        write_ct_series(folder / "ct_dicom", _numpy(study.ct), grid.spacing, origin_lps, uid_seed=uid)


def _write_mri(study: Study, folder: Path, uid: str) -> None:
    mri = study.mri
    scale = MRI_MAX_STORED / float(max(mri.in_phase.max(), mri.water.max(), mri.fat.max()))
    for name in ("in_phase", "water", "fat"):
        _save_volume(folder / f"mri_{name}.nii.gz", (getattr(mri, name) * scale).round(), mri.grid, np.uint16)
    _save_volume(folder / "mri_spine.nii.gz", mri.spine_mask, mri.grid, np.uint8)


def _write_dxa(study: Study, folder: Path, uid: str) -> None:
    dxa = study.dxa
    write_radiograph(folder / "dxa.dcm", _numpy(dxa.bone), dxa.pixel_mm, uid_seed=uid, modality="OT",
                     description="monai-spine phantom DXA bone")
    write_radiograph(folder / "dxa_soft.dcm", _numpy(dxa.soft), dxa.pixel_mm, uid_seed=uid + "-soft", modality="OT",
                     description="monai-spine phantom DXA soft tissue")
    _save_mask_2d(folder / "dxa_spine.nii.gz", study.dxa_mask, dxa.pixel_mm)


def _write_biplanar(study: Study, folder: Path, uid: str) -> None:
    for view, frame in (("ap", "coronal"), ("lateral", "lateral")):
        geometry = getattr(study, f"{view}_geometry")
        tags = {
            "ViewPosition": "AP" if view == "ap" else "LL",
            "DistanceSourceToDetector": f"{geometry.source_to_detector_mm:.2f}",
            "DistanceSourceToPatient": f"{geometry.source_to_isocentre_mm:.2f}",
        }
        write_radiograph(folder / f"{view}.dcm", _numpy(getattr(study, view)), geometry.pixel_mm, uid_seed=uid,
                         frame=frame, modality="DX", description=f"monai-spine phantom {view}", tags=tags)
        _save_mask_2d(folder / f"{view}_spine.nii.gz", getattr(study, f"{view}_mask"), geometry.pixel_mm)


def write_study(
    study: Study, folder: str | os.PathLike, ct_dicom: bool = False, modalities: Sequence[str] = MODALITIES
) -> dict:
    """Write ``study`` into ``folder`` (created) and return its datalist entry (paths relative to the parent).

    Files, by modality group: ``ct``: ``ct.nii.gz`` (HU, int16), ``ct_vertebrae.nii.gz`` (TotalSegmentator
    labels), ``ct_spine.nii.gz``, and with ``ct_dicom`` also ``ct_dicom/`` (an axial series); ``mri``:
    ``mri_in_phase/water/fat.nii.gz`` (uint16), ``mri_spine.nii.gz``; ``dxa``: ``dxa.dcm`` (bone image),
    ``dxa_soft.dcm``, ``dxa_spine.nii.gz``; ``biplanar``: ``ap.dcm``, ``ap_spine.nii.gz``, ``lateral.dcm``,
    ``lateral_spine.nii.gz``; always ``truth.json``. ``modalities`` picks the groups (all by default): a
    segmentation bundle's training data needs only its own.
    """
    unknown = set(modalities) - set(MODALITIES)
    if unknown or not modalities:
        raise ValueError(f"modalities must be a non-empty subset of {MODALITIES}, got {list(modalities)}.")
    folder = Path(folder)
    folder.mkdir(parents=True)
    uid = f"monai-spine-phantom-{study.seed}"
    writers = {"ct": partial(_write_ct, ct_dicom=ct_dicom), "mri": _write_mri, "dxa": _write_dxa,
               "biplanar": _write_biplanar}
    files = {}
    for group in MODALITIES:
        if group in modalities:
            writers[group](study, folder, uid)
            files.update({key: f"{folder.name}/{name}" for key, name in _FILES[group].items()})
    if ct_dicom and "ct" in modalities:
        files["ct_dicom"] = f"{folder.name}/ct_dicom"
    files["truth"] = f"{folder.name}/truth.json"
    with open(folder / "truth.json", "w") as f:
        json.dump(_truth(study, files), f, indent=1)
    return {"id": folder.name, "seed": study.seed, "scoliotic": study.scoliotic, **files}
