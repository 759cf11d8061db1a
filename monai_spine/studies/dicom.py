"""DICOM writers for rendered studies, deterministic: the same UID seed gives byte-identical files.

Every object holds its IOD's required modules as dciodvfy (dicom3tools) checks them: Type 2 attributes the phantom
has no value for (birth date, sex, study date and time, accession number ...) are present and empty; Manufacturer
is ``monai-spine``; the images are synthetic (secondary capture ``ConversionType`` ``SYN``, ``ImageType``
``DERIVED``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sr.codedict import codes
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

__all__ = ["write_radiograph", "write_ct_series"]

_SOP_CLASS = {
    "DX": "1.2.840.10008.5.1.4.1.1.1.1",  # Digital X-Ray Image Storage - For Presentation
    "OT": "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture Image Storage (how DXA exports often arrive)
}
_ORIENTATION = {"coronal": ["L", "F"], "lateral": ["A", "F"]}
_MANUFACTURER = "monai-spine"
_EMPTY_TYPE_2 = ("PatientBirthDate", "PatientSex", "StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID",
                 "AccessionNumber")
"""Type 2 attributes of the Patient and General Study modules that a rendered study has no value for."""


def _dataset(
    sop_class: str, instance_seed: list[str], uid_seed: str, modality: str, description: str, patient_name: str,
    series_number: int, instance_number: int,
) -> Dataset:
    """A new dataset with its file meta, SOP, patient, study, series and equipment attributes; UIDs derived from the
    seeds."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=instance_seed)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid(entropy_srcs=[uid_seed, "study"])
    ds.Modality = modality
    ds.PatientName = patient_name
    ds.PatientID = uid_seed[:64]
    ds.SeriesDescription = description
    ds.SeriesNumber, ds.InstanceNumber = series_number, instance_number
    ds.Manufacturer = _MANUFACTURER
    ds.BodyPartExamined = "SPINE"  # unpaired: no Laterality
    for keyword in _EMPTY_TYPE_2:
        setattr(ds, keyword, "")
    return ds


def _dx_image(ds: Dataset) -> None:
    """The DX Series, DX Anatomy Imaged, DX Image, DX Detector, DX Positioning and Acquisition Context attributes
    of a synthetic, log-transformed spine radiograph For Presentation (higher values: less X-ray intensity)."""
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.ImageType = ["DERIVED", "PRIMARY"]
    ds.ImageLaterality = "U"  # unpaired body part
    region = Dataset()
    region.CodeValue, region.CodingSchemeDesignator = codes.SCT.Spine.value, codes.SCT.Spine.scheme_designator
    region.CodeMeaning = codes.SCT.Spine.meaning
    ds.AnatomicRegionSequence = [region]
    ds.PixelIntensityRelationship, ds.PixelIntensityRelationshipSign = "LOG", -1
    ds.RescaleType = "US"  # unspecified
    ds.PresentationLUTShape = "IDENTITY"  # MONOCHROME2
    ds.WindowCenter, ds.WindowWidth = "32768", "65536"  # the whole stored range
    ds.LossyImageCompression, ds.BurnedInAnnotation = "00", "NO"
    ds.DetectorType = ds.PositionerType = ""
    ds.AcquisitionContextSequence = []


def _set_pixels(ds: Dataset, pixels: np.ndarray, slope: str, intercept: str) -> None:
    """16-bit MONOCHROME2 pixels ``(rows, columns)`` (signed if ``pixels`` is) with their rescale."""
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = int(pixels.dtype.kind == "i")
    ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    ds.PixelData = pixels.tobytes()


def write_radiograph(
    path: str | os.PathLike,
    image: np.ndarray,
    spacing_mm: tuple[float, float],
    *,
    uid_seed: str,
    frame: str = "coronal",
    modality: str = "DX",
    description: str = "",
    patient_name: str = "Anonymous^Spine",
    series_number: int = 1,
    tags: Mapping[str, object] | None = None,
) -> None:
    """Write a ``(W, H)`` image (coronal or lateral image frame) as a 16-bit MONOCHROME2 radiograph.

    The image's range ``[min, max]`` is mapped linearly onto the stored unsigned integers ``0 … 65535``.

    - ``modality="OT"`` (secondary capture, a DXA): RescaleSlope ``(max - min) / 65535`` and RescaleIntercept
      ``min`` (RescaleType ``US``), so reading back gives ``image`` to within ``(max - min) / 65535``.
    - ``modality="DX"`` (Digital X-Ray For Presentation, a log-transformed radiograph such as
      :func:`monai_spine.projection.radiograph` gives): the DX Image module allows only RescaleSlope 1 and
      RescaleIntercept 0, so the stored integers are the values read back: ``image`` up to that affine map
      (PixelIntensityRelationship ``LOG``, sign -1: bone bright).

    ``spacing_mm`` is (column, row); DICOM ``PixelSpacing`` is written as (row, column) as the standard orders it.
    ``uid_seed`` makes the UIDs (and so the file) reproducible; ``description`` is the SeriesDescription (default
    ``"monai-spine <frame>"``), ``patient_name`` the PatientName, ``series_number`` the SeriesNumber. ``tags`` adds
    attributes by keyword, e.g. ``DistanceSourceToDetector``, ``DistanceSourceToPatient`` and ``ViewPosition`` for a
    calibrated radiograph.
    """
    image = np.asarray(image, dtype=np.float64)
    lo, hi = float(image.min()), float(image.max())
    slope = (hi - lo) / 65535.0 if hi > lo else 1.0
    stored = np.round((image - lo) / slope).astype(np.uint16).T  # (rows, columns)

    # one study's images share uid_seed: the series number and the frame tell its images apart (a DXA and an AP are
    # both coronal), so every image has its own SOP Instance and Series UIDs, as a PACS needs
    image_seed = [uid_seed, frame, modality, str(series_number)]
    ds = _dataset(_SOP_CLASS[modality], [*image_seed, "sop"], uid_seed, modality,
                  description or f"monai-spine {frame}", patient_name, series_number, 1)
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=[*image_seed, "series"])
    ds.PatientOrientation = _ORIENTATION[frame]
    ds.PixelSpacing = [f"{spacing_mm[1]:.6g}", f"{spacing_mm[0]:.6g}"]
    if modality == "DX":
        _set_pixels(ds, stored, "1", "0")
        _dx_image(ds)
    else:
        _set_pixels(ds, stored, f"{slope:.10g}", f"{lo:.10g}")
        ds.RescaleType = "US"  # unspecified: g/cm² has no defined term
        ds.ConversionType = "SYN"  # synthetic image
    for keyword, value in (tags or {}).items():
        setattr(ds, keyword, value)
    ds.save_as(path, enforce_file_format=True)


def write_ct_series(
    folder: str | os.PathLike,
    hu: np.ndarray,
    spacing_mm,
    origin_lps_mm,
    *,
    uid_seed: str,
    description: str = "monai-spine CT",
    patient_name: str = "Anonymous^Spine",
    series_number: int = 1,
) -> None:
    """Write an ``(X, Y, Z)`` HU volume in the patient volume frame (``LAI``) as an axial CT series.

    Slices are shown in the standard axial display (columns toward the patient's left, rows toward posterior),
    so each slice's pixels are the volume's ``[:, ::-1, k]`` and ``ImageOrientationPatient`` is ``1\\0\\0\\0\\1\\0``.
    ``origin_lps_mm`` is the DICOM (LPS) position of voxel ``(0, 0, 0)``; ``uid_seed`` makes the series reproducible;
    ``description``, ``patient_name`` and ``series_number`` go to SeriesDescription, PatientName and SeriesNumber.
    The patient is head first supine (``PatientPosition`` ``HFS``).
    """
    os.makedirs(folder, exist_ok=True)
    sx, sy, sz = (float(s) for s in spacing_mm)
    ny = hu.shape[1]
    first = np.asarray(origin_lps_mm, dtype=np.float64) + [0.0, -(ny - 1) * sy, 0.0]  # LPS of row 0: most anterior
    series = generate_uid(entropy_srcs=[uid_seed, "ct-series"])
    frame_of_reference = generate_uid(entropy_srcs=[uid_seed, "frame"])
    for k in range(hu.shape[2]):
        ds = _dataset("1.2.840.10008.5.1.4.1.1.2", [uid_seed, "ct", str(k)], uid_seed, "CT", description,
                      patient_name, series_number, k + 1)
        ds.SeriesInstanceUID, ds.FrameOfReferenceUID = series, frame_of_reference
        ds.PatientPosition, ds.PositionReferenceIndicator = "HFS", ""
        ds.ImageType = ["DERIVED", "PRIMARY", "AXIAL"]
        ds.KVP = ds.AcquisitionNumber = ""
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [f"{v:.4f}" for v in first + [0.0, 0.0, -k * sz]]  # toward the feet: -z in LPS
        ds.PixelSpacing = [f"{sy:.6g}", f"{sx:.6g}"]
        ds.SliceThickness = f"{sz:.6g}"
        _set_pixels(ds, np.round(hu[:, ::-1, k]).astype(np.int16).T, "1", "0")  # rows: posterior, columns: left
        ds.save_as(os.path.join(folder, f"ct_{k:04d}.dcm"), enforce_file_format=True)
