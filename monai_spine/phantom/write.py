"""A phantom study on disk, written by :mod:`monai_spine.studies` (files and ``truth.json``: ``docs/phantom.md``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict

import numpy as np

from monai_spine import studies
from monai_spine.studies import MODALITIES, TRUTH_SCHEMA, RenderedStudy

from .study import RadiographRender, Study

__all__ = ["MODALITIES", "TRUTH_SCHEMA", "PHANTOM_FRAME", "rendered_study", "write_study"]

PHANTOM_FRAME = ("x toward the patient's left, y anterior, z toward the feet, mm; origin at the top of the centre line "
                 "(x, y: its mean)")
"""How the phantom frame is placed (``truth.json``'s ``frames.phantom``)."""


def _subject(study: Study, biplanar: bool) -> dict:
    """The person and, with the AP and lateral written (``biplanar``), their bone contrast."""
    rendering = {"radiograph_bone_scale": study.radiograph_bone_scale} if biplanar else {}
    return {
        "shape": study.shape.to_dict(),
        "body": asdict(study.anatomy.body),
        **rendering,
        "variants": asdict(study.anatomy.variants),
        "soft_tissue": {"breasts": bool(study.anatomy.breasts),
                        "bowel_gas_pockets": 0 if study.anatomy.abdomen is None else len(study.anatomy.abdomen.gas)},
        "devices": study.anatomy.devices.to_dict(),
        "measures": study.measures,
        "centre_line_mm": np.round(study.centre_line, 3).tolist(),
        "vertebrae": [
            {"name": v.name, "label": v.label, "centre_mm": np.round(v.centre, 3).tolist(),
             "rotation_deg": v.rotation_deg}
            for v in study.anatomy.vertebrae
        ],
    }


def _mri_part(study: Study) -> studies.MriPart:
    volumes = study.mri.volumes
    in_mri = volumes.phantom_to_mri(study.centre_line) - np.asarray(volumes.grid.origin)
    return studies.MriPart(volumes.in_phase, volumes.water, volumes.fat, volumes.spine_mask, volumes.grid.affine_ras(),
                           study.mri.truth, in_mri, {"pose": asdict(volumes.pose), "posture": asdict(volumes.posture)})


def _radiograph_part(view: RadiographRender) -> studies.RadiographPart:
    return studies.RadiographPart(view.image, view.mask, view.geometry, view.truth)


def _relations(study: Study, groups: Sequence[str]) -> dict:
    """What links the MRI to the DXA: the rigid map between their frames and whether the posture changed."""
    if "mri" not in groups:
        return {}
    volumes = study.mri.volumes
    relations = {"matrix_mri_to_dxa": np.round(volumes.matrix_mri_to_dxa(study.dxa.image), 6).tolist()} \
        if "dxa" in groups else {}
    return {**relations, "mri_posture_changed": bool(volumes.posture.bend_mm or volumes.posture.lordosis_mm)}


def rendered_study(study: Study, modalities: Sequence[str] | None = None) -> RenderedStudy:
    """``study`` as a :class:`~monai_spine.studies.RenderedStudy` of the ``modalities`` groups (all rendered ones if
    None); a group that was not rendered is a ``ValueError``."""
    groups = study.rendered if modalities is None else tuple(modalities)
    if not groups or set(groups) - set(MODALITIES):
        raise ValueError(f"modalities must be a non-empty subset of {MODALITIES}, got {list(groups)}.")
    missing = set(groups) - set(study.rendered)
    if missing:
        raise ValueError(f"modalities {sorted(missing)} were not rendered in study {study.seed}.")
    ct, dxa, biplanar = study.ct, study.dxa, "biplanar" in groups
    return RenderedStudy(
        source="phantom",
        seed=study.seed,
        labels={"scoliotic": study.scoliotic},
        subject=_subject(study, biplanar),
        patient_frame=PHANTOM_FRAME,
        ct=studies.CtPart(ct.hu, ct.vertebra_labels, ct.mask, ct.grid.affine_ras(), ct.truth,
                          study.centre_line - np.asarray(ct.grid.origin)) if "ct" in groups else None,
        mri=_mri_part(study) if "mri" in groups else None,
        dxa=studies.DxaPart(dxa.image.bone, dxa.image.soft, dxa.mask, dxa.image.pixel_mm, dxa.image.origin_mm,
                            dxa.truth) if "dxa" in groups else None,
        ap=_radiograph_part(study.ap) if biplanar else None,
        lateral=_radiograph_part(study.lateral) if biplanar else None,
        relations=_relations(study, groups),
    )


def write_study(
    study: Study, folder: str | os.PathLike, ct_dicom: bool = False, modalities: Sequence[str] | None = None
) -> dict:
    """Write ``study`` into ``folder`` (created) and return its datalist entry (paths relative to the parent).

    Files, by modality group: ``ct``: ``ct.nii.gz`` (HU, int16), ``ct_vertebrae.nii.gz`` (TotalSegmentator
    labels), ``ct_spine.nii.gz``, and with ``ct_dicom`` also ``ct_dicom/`` (an axial series); ``mri``:
    ``mri_in_phase/water/fat.nii.gz`` (uint16), ``mri_spine.nii.gz``; ``dxa``: ``dxa.dcm`` (bone image),
    ``dxa_soft.dcm``, ``dxa_spine.nii.gz``; ``biplanar``: ``ap.dcm``, ``ap_spine.nii.gz``, ``lateral.dcm``,
    ``lateral_spine.nii.gz``; always ``truth.json`` (:func:`monai_spine.studies.write_study`). ``modalities`` picks
    the groups among those rendered (all by default): a segmentation bundle's training data needs only its own.
    """
    return studies.write_study(rendered_study(study, modalities), folder, ct_dicom)
