"""DICOM writers for synthetic studies, deterministic so that the same seed gives byte-identical files."""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

__all__ = ["write_radiograph"]

_SOP_CLASS = {
    "DX": "1.2.840.10008.5.1.4.1.1.1.1",  # Digital X-Ray Image Storage - For Presentation
    "CR": "1.2.840.10008.5.1.4.1.1.1",  # Computed Radiography Image Storage
    "OT": "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture Image Storage (how DXA exports often arrive)
}
_ORIENTATION = {"coronal": ["L", "F"], "lateral": ["A", "F"]}


def write_radiograph(
    path: str | os.PathLike,
    image: np.ndarray,
    spacing_mm: tuple[float, float],
    *,
    uid_seed: str,
    frame: str = "coronal",
    modality: str = "DX",
    description: str = "",
    tags: Mapping[str, object] | None = None,
) -> None:
    """Write a ``(W, H)`` image (coronal or lateral image frame) as a 16-bit MONOCHROME2 radiograph.

    Values are stored as unsigned integers through RescaleSlope/RescaleIntercept chosen to cover the image's
    range, so reading back gives ``image`` to within ``(max - min) / 65535``. ``spacing_mm`` is (column, row);
    DICOM ``PixelSpacing`` is written as (row, column) as the standard orders it. ``uid_seed`` makes the
    UIDs (and so the file) reproducible. ``tags`` adds attributes by keyword, e.g. ``DistanceSourceToDetector``,
    ``DistanceSourceToPatient`` and ``ViewPosition`` for a calibrated radiograph.
    """
    image = np.asarray(image, dtype=np.float64)
    lo, hi = float(image.min()), float(image.max())
    slope = (hi - lo) / 65535.0 if hi > lo else 1.0
    stored = np.round((image - lo) / slope).astype(np.uint16).T  # (rows, columns)

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = _SOP_CLASS[modality]
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[uid_seed, "sop"])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid(entropy_srcs=[uid_seed, "study"])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=[uid_seed, "series", frame])
    ds.Modality = modality
    ds.PatientName = "Phantom^Spine"
    ds.PatientID = uid_seed[:64]
    ds.SeriesDescription = description or f"monai-spine phantom {frame}"
    ds.PatientOrientation = _ORIENTATION[frame]
    ds.PixelSpacing = [f"{spacing_mm[1]:.6g}", f"{spacing_mm[0]:.6g}"]
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.RescaleSlope = f"{slope:.10g}"
    ds.RescaleIntercept = f"{lo:.10g}"
    ds.PixelData = stored.tobytes()
    for keyword, value in (tags or {}).items():
        setattr(ds, keyword, value)
    ds.save_as(path, enforce_file_format=True)
