"""``drr`` studies on disk, exactly as ``monai-spine phantom`` writes its DXA and bi-planar files (``docs/drr.md``).

The one module of this package that uses the phantom: its DICOM radiograph writer, truth schema and datalist
splitting are generic and move to ``monai_spine.studies`` / ``monai_spine.io`` (imports below, marked).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nibabel as nib
import numpy as np

from monai_spine.geometry import SpineCurves
from monai_spine.geometry.extract import BoundaryCurves
from monai_spine.io.datalist import split_balanced, write_datalist
from monai_spine.studies import TRUTH_SCHEMA, write_radiograph

from .render import DrrSource, DrrStudy

__all__ = ["FILES", "SCOLIOTIC_COBB_DEG", "write_drr_study", "write_drr_datalist"]

FILES = {"dxa": "dxa.dcm", "dxa_soft": "dxa_soft.dcm", "dxa_spine": "dxa_spine.nii.gz", "ap": "ap.dcm",
         "ap_spine": "ap_spine.nii.gz", "lateral": "lateral.dcm", "lateral_spine": "lateral_spine.nii.gz"}
"""Datalist key → file name: the phantom's ``dxa`` and ``biplanar`` groups."""

SCOLIOTIC_COBB_DEG = 10.0
"""A study is scoliotic (for the balanced split) when its truth's main coronal Cobb angle reaches this."""

_SIX = ("coronal_centre", "coronal_right", "coronal_left", "sagittal_centre", "sagittal_posterior", "sagittal_anterior")


def _numpy(tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy()


def _save_mask_2d(path: Path, mask, pixel_mm) -> None:
    """A 2D mask ``(W, H)`` as NIfTI, axis 0 along columns, spacing in the header (the phantom's layout)."""
    nib.save(nib.Nifti1Image(_numpy(mask).astype(np.uint8), np.diag([*map(float, pixel_mm), 1.0, 1.0])), path)


def _curves_dict(curves: SpineCurves | BoundaryCurves, names) -> dict:
    arrays = curves.to_array() if isinstance(curves, SpineCurves) else np.stack(curves)
    return {name: np.round(a, 3).tolist() for name, a in zip(names, arrays)}


def _scoliotic(study: DrrStudy) -> bool:
    return abs(study.measures["coronal_cobb_deg"] or 0.0) >= SCOLIOTIC_COBB_DEG


def _truth(study: DrrStudy, source: DrrSource, files: dict) -> dict:
    dxa = study.dxa_geometry
    return {
        "schema": TRUTH_SCHEMA,
        "seed": study.seed,
        "scoliotic": _scoliotic(study),
        "source": {"ct": source.source, "label_ids": source.ids},
        "acquisition": study.acquisition.to_dict(),
        "measures": study.measures,
        "centre_line_mm": np.round(study.centre_line, 3).tolist(),
        "vertebrae": [{"name": name, "label": source.ids[name], "centre_mm": np.round(c, 3).tolist()}
                      for name, c in study.vertebrae.items()],
        "frames": {
            "patient": "the CT's patient volume frame (docs/frames.md): x toward the patient's left, y anterior, "
            "z toward the feet, mm from the centre of the CT's first voxel; the patient moved by the acquisition's "
            "pose",
            "dxa": {"origin_mm": list(dxa.origin), "pixel_mm": list(dxa.pixel_mm)},
            "ap": study.ap_geometry.to_dict(),
            "lateral": study.lateral_geometry.to_dict(),
        },
        "curves": {
            "dxa": _curves_dict(study.truth_curves["dxa"], _SIX),
            "ap": _curves_dict(study.truth_curves["ap"], ("coronal_centre", "coronal_right", "coronal_left")),
            "lateral": _curves_dict(
                study.truth_curves["lateral"], ("sagittal_centre", "sagittal_posterior", "sagittal_anterior")
            ),
        },
        "files": files,
    }


def write_drr_study(study: DrrStudy, source: DrrSource, folder: str | os.PathLike) -> dict:
    """Write ``study`` into ``folder`` (created) and return its datalist entry (paths relative to the parent).

    Files: ``dxa.dcm`` (bone, g/cm²), ``dxa_soft.dcm``, ``dxa_spine.nii.gz``, ``ap.dcm``, ``ap_spine.nii.gz``,
    ``lateral.dcm``, ``lateral_spine.nii.gz`` (DICOM tags as the phantom's) and ``truth.json``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True)
    uid = f"monai-spine-drr-{source.source}-{study.seed}"
    dxa = study.dxa_geometry
    write_radiograph(folder / "dxa.dcm", _numpy(study.dxa_bone), dxa.pixel_mm, uid_seed=uid, modality="OT",
                     description="monai-spine drr DXA bone")
    write_radiograph(folder / "dxa_soft.dcm", _numpy(study.dxa_soft), dxa.pixel_mm, uid_seed=uid + "-soft",
                     modality="OT", description="monai-spine drr DXA soft tissue")
    _save_mask_2d(folder / "dxa_spine.nii.gz", study.dxa_mask, dxa.pixel_mm)
    for view, frame in (("ap", "coronal"), ("lateral", "lateral")):
        geometry = getattr(study, f"{view}_geometry")
        tags = {
            "ViewPosition": "AP" if view == "ap" else "LL",
            "DistanceSourceToDetector": f"{geometry.source_to_detector_mm:.2f}",
            "DistanceSourceToPatient": f"{geometry.source_to_isocentre_mm:.2f}",
        }
        write_radiograph(folder / f"{view}.dcm", _numpy(getattr(study, view)), geometry.pixel_mm, uid_seed=uid,
                         frame=frame, modality="DX", description=f"monai-spine drr {view}", tags=tags)
        _save_mask_2d(folder / f"{view}_spine.nii.gz", getattr(study, f"{view}_mask"), geometry.pixel_mm)
    files = {key: f"{folder.name}/{name}" for key, name in FILES.items()}
    files["truth"] = f"{folder.name}/truth.json"
    with open(folder / "truth.json", "w") as f:
        json.dump(_truth(study, source, files), f, indent=1)
    return {"id": folder.name, "seed": study.seed, "scoliotic": _scoliotic(study), **files}


def write_drr_datalist(out: str | os.PathLike, entries: list[dict], seed: int, source: str) -> dict:
    """Split ``entries`` 80/10/10 (scoliosis-balanced, as the phantom's) and write ``out/dataset.json``."""
    datalist = split_balanced(entries, seed=seed)
    write_datalist(Path(out) / "dataset.json", datalist, f"monai-spine drr of {source}: n={len(entries)}, seed={seed}")
    return datalist
