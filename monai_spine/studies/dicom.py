"""DICOM writers for rendered studies, deterministic: the same UID seed gives byte-identical files."""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

__all__ = ["write_radiograph", "write_ct_series"]

_SOP_CLASS = {
    "DX": "1.2.840.10008.5.1.4.1.1.1.1",  # Digital X-Ray Image Storage - For Presentation
    "CR": "1.2.840.10008.5.1.4.1.1.1",  # Computed Radiography Image Storage
    "OT": "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture Image Storage (how DXA exports often arrive)
}
_ORIENTATION = {"coronal": ["L", "F"], "lateral": ["A", "F"]}


def _dataset(
    sop_class: str, instance_seed: list[str], uid_seed: str, modality: str, description: str, patient_name: str
) -> Dataset:
    """A new dataset with its file meta, SOP, study and patient attributes; UIDs derived from the seeds."""
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
    return ds


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
    tags: Mapping[str, object] | None = None,
) -> None:
    """Write a ``(W, H)`` image (coronal or lateral image frame) as a 16-bit MONOCHROME2 radiograph.

    Values are stored as unsigned integers through RescaleSlope/RescaleIntercept chosen to cover the image's
    range, so reading back gives ``image`` to within ``(max - min) / 65535``. ``spacing_mm`` is (column, row);
    DICOM ``PixelSpacing`` is written as (row, column) as the standard orders it. ``uid_seed`` makes the
    UIDs (and so the file) reproducible; ``description`` is the SeriesDescription (default ``"monai-spine <frame>"``),
    ``patient_name`` the PatientName. ``tags`` adds attributes by keyword, e.g. ``DistanceSourceToDetector``,
    ``DistanceSourceToPatient`` and ``ViewPosition`` for a calibrated radiograph.
    """
    image = np.asarray(image, dtype=np.float64)
    lo, hi = float(image.min()), float(image.max())
    slope = (hi - lo) / 65535.0 if hi > lo else 1.0
    stored = np.round((image - lo) / slope).astype(np.uint16).T  # (rows, columns)

    ds = _dataset(_SOP_CLASS[modality], [uid_seed, "sop"], uid_seed, modality,
                  description or f"monai-spine {frame}", patient_name)
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=[uid_seed, "series", frame])
    ds.PatientOrientation = _ORIENTATION[frame]
    ds.PixelSpacing = [f"{spacing_mm[1]:.6g}", f"{spacing_mm[0]:.6g}"]
    _set_pixels(ds, stored, f"{slope:.10g}", f"{lo:.10g}")
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
) -> None:
    """Write an ``(X, Y, Z)`` HU volume in the patient volume frame (``LAI``) as an axial CT series.

    Slices are shown in the standard axial display (columns toward the patient's left, rows toward posterior),
    so each slice's pixels are the volume's ``[:, ::-1, k]`` and ``ImageOrientationPatient`` is ``1\\0\\0\\0\\1\\0``.
    ``origin_lps_mm`` is the DICOM (LPS) position of voxel ``(0, 0, 0)``; ``uid_seed`` makes the series reproducible;
    ``description`` and ``patient_name`` go to SeriesDescription and PatientName.
    """
    os.makedirs(folder, exist_ok=True)
    sx, sy, sz = (float(s) for s in spacing_mm)
    ny = hu.shape[1]
    first = np.asarray(origin_lps_mm, dtype=np.float64) + [0.0, -(ny - 1) * sy, 0.0]  # LPS of row 0: most anterior
    series = generate_uid(entropy_srcs=[uid_seed, "ct-series"])
    frame_of_reference = generate_uid(entropy_srcs=[uid_seed, "frame"])
    for k in range(hu.shape[2]):
        ds = _dataset("1.2.840.10008.5.1.4.1.1.2", [uid_seed, "ct", str(k)], uid_seed, "CT", description,
                      patient_name)
        ds.SeriesInstanceUID, ds.FrameOfReferenceUID = series, frame_of_reference
        ds.InstanceNumber = k + 1
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [f"{v:.4f}" for v in first + [0.0, 0.0, -k * sz]]  # toward the feet: -z in LPS
        ds.PixelSpacing = [f"{sy:.6g}", f"{sx:.6g}"]
        ds.SliceThickness = f"{sz:.6g}"
        _set_pixels(ds, np.round(hu[:, ::-1, k]).astype(np.int16).T, "1", "0")  # rows: posterior, columns: left
        ds.save_as(os.path.join(folder, f"ct_{k:04d}.dcm"), enforce_file_format=True)
