"""A route's results as DICOM objects (``docs/commands/deploy.md``, the content tree in ``docs/formats.md``).

- :func:`spine_sr`: a Comprehensive 3D SR, TID 1500 *Imaging Measurement Report*: the coronal centre line as an SCOORD
  POLYLINE on the source image (DXA or AP) with the coronal angles, and the 3D centre line as an SCOORD3D POLYLINE
  in a frame of reference of its own with the sagittal and 3D angles; every angle a numeric measurement in UCUM
  ``deg``.
- :func:`report_sc`: ``report.png`` as an RGB secondary capture.

Both go into the source image's study, each in a new series. UIDs are derived from the source image's SOP Instance
UID, so the same input gives the same UIDs.
"""

from __future__ import annotations

import os
from pathlib import Path

import highdicom as hd
import numpy as np
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from monai_spine import __version__
from monai_spine.geometry import SpineCurves

__all__ = ["CODING_SCHEME", "MEASURE_CODES", "CENTRE_LINE_IDS", "SR_FILE", "SC_FILE", "lps_from_patient_frame",
           "spine_frame_of_reference", "spine_sr", "report_sc", "write_dicom_results"]

SR_FILE, SC_FILE = "spine_sr.dcm", "report_sc.dcm"
"""The DICOM objects' file names in the output folder."""

CODING_SCHEME = "99MSPINE"
"""The private coding scheme of the measures that neither SNOMED CT nor DICOM codes; declared in the SR's Coding
Scheme Identification Sequence."""

MEASURE_CODES = {
    "coronal_cobb_deg": codes.SCT.CobbAngle,
    "coronal_ferguson_deg": hd.sr.CodedConcept("MSP001", CODING_SCHEME, "Coronal Ferguson angle"),
    "thoracic_kyphosis_deg": hd.sr.CodedConcept("MSP002", CODING_SCHEME, "Thoracic kyphosis angle"),
    "lumbar_lordosis_deg": hd.sr.CodedConcept("MSP003", CODING_SCHEME, "Lumbar lordosis angle"),
    "plane_of_max_curvature_deg": hd.sr.CodedConcept("MSP004", CODING_SCHEME, "Plane of maximum curvature angle"),
    "plane_of_max_curvature_cobb_deg": hd.sr.CodedConcept("MSP005", CODING_SCHEME,
                                                          "Cobb angle in the plane of maximum curvature"),
}
"""``curves.json`` measure → its concept name in the SR."""

_SITES = {"thoracic_kyphosis_deg": codes.SCT.ThoracicSpine, "lumbar_lordosis_deg": codes.SCT.LumbarSpine}
_CORONAL = ("coronal_cobb_deg", "coronal_ferguson_deg")
_SPATIAL = ("thoracic_kyphosis_deg", "lumbar_lordosis_deg", "plane_of_max_curvature_deg",
            "plane_of_max_curvature_cobb_deg")
CENTRE_LINE_IDS = ("coronal centre line", "3D centre line")
"""The tracking identifiers of the SR's two measurement groups."""
_PROCEDURES = {"dxa": codes.SCT.DualEnergyXRayAbsorptiometry, "biplanar": codes.SCT.PlainRadiography}
_MANUFACTURER = "monai-spine"


def lps_from_patient_frame(points) -> np.ndarray:
    """``(N, 3)`` points of the patient frame (x left, y anterior, z feet, mm; ``docs/frames.md``) → DICOM patient
    coordinates (LPS, mm) of the same frame of reference: ``(x, −y, −z)``."""
    return np.asarray(points, dtype=np.float64) * [1.0, -1.0, -1.0]


def spine_frame_of_reference(source: Dataset) -> str:
    """The FrameOfReferenceUID of the 3D centre line: the source image's own when it has one, else a UID derived from
    its SOP Instance UID (the same image always gives the same frame)."""
    return str(source.get("FrameOfReferenceUID") or generate_uid(entropy_srcs=[source.SOPInstanceUID, "frame"]))


_TYPE_2 = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
           "ReferringPhysicianName", "AccessionNumber", "StudyID")
"""The Patient and General Study attributes of type 2 (present, maybe empty) that the results copy from the source."""


def _with_study_attributes(source: Dataset) -> Dataset:
    """A copy of ``source``'s header (no pixels) with the :data:`_TYPE_2` attributes it lacks present and empty, as
    the results' Patient and General Study modules need them (a source that lacks them is itself not conformant)."""
    header = Dataset({element.tag: element for element in source if element.keyword != "PixelData"})
    for keyword in _TYPE_2:
        if keyword not in header:
            setattr(header, keyword, None)
    return header


def _uid(source: Dataset, what: str) -> str:
    return generate_uid(entropy_srcs=[source.SOPInstanceUID, _MANUFACTURER, what])


def _measurements(measures: dict, names, algorithm) -> list:
    found = [name for name in names if measures.get(name) is not None]
    return [hd.sr.Measurement(name=MEASURE_CODES[name], value=float(measures[name]), unit=codes.UCUM.Degree,
                              algorithm_id=algorithm,
                              finding_sites=[hd.sr.FindingSite(_SITES[name])] if name in _SITES else None)
            for name in found]


def _group(source: Dataset, identifier: str, region, measurements):
    """One TID 1410 group: a centre line (``region``) with its ``measurements``."""
    return hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=_uid(source, identifier), identifier=identifier),
        referenced_region=region, finding_type=codes.DCM.Centerline,
        finding_sites=[hd.sr.FindingSite(codes.SCT.Spine)], measurements=measurements)


def spine_sr(curves: SpineCurves, measures: dict, source: Dataset, file_affine, mode: str,
             evidence=(), coronal_line_mm=None) -> hd.sr.Comprehensive3DSR:
    """The Comprehensive 3D SR of one route's result.

    Args:
        curves: the six curves in the source image's frame (coronal image frame for DXA, the bi-planar patient frame),
            mm.
        measures: ``curves.json``'s measures (``*_deg`` entries in degrees; ``None`` entries are left out).
        source: the image the coronal centre line is drawn on (the DXA, or the AP radiograph), as read by pydicom.
        file_affine: ``(3, 3)`` the source image's stored grid ``(column, row, 1)`` → its coronal image frame
            ``(x, z, 1)`` mm (``LoadRadiograph``'s ``meta["original_affine"]``): maps the curve back to stored pixels.
        mode: ``"dxa"`` or ``"biplanar"`` (the procedure reported).
        evidence: the other source images (the lateral radiograph), listed as evidence.
        coronal_line_mm: ``(N, 2)`` the coronal centre line in ``source``'s coronal image frame, mm, drawn on it;
            default ``curves.coronal_centre``, right for a DXA, whose curves are in that frame; a bi-planar route
            gives the 3D centre line projected through the AP's geometry (``BiplanarResult.view_curves``),
            since its patient frame is magnified in the AP.
    """
    source = _with_study_attributes(source)
    algorithm = hd.sr.AlgorithmIdentification(name="monai-spine " + mode, version=__version__)
    line = curves.coronal_centre if coronal_line_mm is None else np.asarray(coronal_line_mm, dtype=np.float64)
    centre = np.c_[line, np.ones(len(line))]
    pixels = (np.linalg.inv(np.asarray(file_affine, dtype=np.float64)) @ centre.T).T[:, :2] + 0.5  # pixel centres
    coronal = hd.sr.ImageRegion(graphic_type=hd.sr.GraphicTypeValues.POLYLINE, graphic_data=pixels,
                                source_image=hd.sr.SourceImageForRegion.from_source_image(source))
    spatial = hd.sr.ImageRegion3D(graphic_type=hd.sr.GraphicTypeValues3D.POLYLINE,
                                  graphic_data=lps_from_patient_frame(curves.curve3d()),
                                  frame_of_reference_uid=spine_frame_of_reference(source))
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=generate_uid(entropy_srcs=[_MANUFACTURER]), name=_MANUFACTURER, manufacturer_name=_MANUFACTURER))
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=observer),
        procedure_reported=_PROCEDURES[mode],
        imaging_measurements=[
            _group(source, CENTRE_LINE_IDS[0], coronal, _measurements(measures, _CORONAL, algorithm)),
            _group(source, CENTRE_LINE_IDS[1], spatial, _measurements(measures, _SPATIAL, algorithm))])
    sr = hd.sr.Comprehensive3DSR(
        evidence=[source, *map(_with_study_attributes, evidence)], content=report,
        series_instance_uid=_uid(source, "sr series"), series_number=9701,
        sop_instance_uid=_uid(source, "sr"), instance_number=1, manufacturer=_MANUFACTURER,
        series_description="monai-spine spine curve", is_complete=True, is_final=False, is_verified=False)
    scheme = Dataset()
    scheme.CodingSchemeDesignator = CODING_SCHEME
    scheme.CodingSchemeName = "monai-spine spine curve measures"
    scheme.CodingSchemeResponsibleOrganization = _MANUFACTURER
    sr.CodingSchemeIdentificationSequence = [scheme]
    return sr


def report_sc(report_png: str | os.PathLike, source: Dataset) -> hd.sc.SCImage:
    """``report.png`` as an RGB secondary capture (``(rows, columns, 3)`` uint8) in ``source``'s study, new series."""
    pixels = np.asarray(Image.open(report_png).convert("RGB"))
    sc = hd.sc.SCImage.from_ref_dataset(
        ref_dataset=_with_study_attributes(source), pixel_array=pixels, photometric_interpretation="RGB",
        bits_allocated=8, coordinate_system="PATIENT", patient_orientation=("L", "F"),
        series_instance_uid=_uid(source, "sc series"), series_number=9702,
        sop_instance_uid=_uid(source, "sc"), instance_number=1, manufacturer=_MANUFACTURER,
        series_description="monai-spine report")
    sc.PatientOrientation = sc.Laterality = None  # a page of figures and text: no orientation, no side (type 2C, empty)
    return sc


def write_dicom_results(folder: Path, curves: SpineCurves, measures: dict, source: Dataset, file_affine, mode: str,
                        evidence=(), coronal_line_mm=None) -> list[Path]:
    """Write :data:`SR_FILE` (:func:`spine_sr`) and :data:`SC_FILE` (:func:`report_sc` of ``folder/report.png``) into
    ``folder``, which already holds a route's files (``results.write_results``); return their paths."""
    paths = [folder / SR_FILE, folder / SC_FILE]
    sr = spine_sr(curves, measures, source, file_affine, mode, evidence, coronal_line_mm)
    sr.save_as(paths[0], enforce_file_format=True)
    report_sc(folder / "report.png", source).save_as(paths[1], enforce_file_format=True)
    return paths
