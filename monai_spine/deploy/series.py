"""Which images of a DICOM study the application runs on: one DXA, or an AP and a lateral radiograph of one study."""

from __future__ import annotations

import os
from collections import defaultdict
from typing import NamedTuple

from pydicom.dataset import Dataset

from monai_spine.errors import SpineInputError
from monai_spine.projection.calibration import VIEW_POSITIONS

__all__ = ["SpineInputs", "select_spine_inputs", "DXA_MODALITIES"]

DXA_MODALITIES = ("OT", "BMD", "DX")
"""Modalities a DXA export arrives as (secondary capture ``OT``, bone densitometry ``BMD``, ``DX``); an image of one of
them without a ViewPosition is taken as a DXA."""


class SpineInputs(NamedTuple):
    """The selected images: ``mode`` ``"dxa"`` (``images = (dxa,)``) or ``"biplanar"`` (``images = (ap, lateral)``),
    each a pydicom dataset read from a file (its ``filename`` is the path the routes read)."""

    mode: str
    images: tuple[Dataset, ...]


def _position(ds: Dataset) -> str:
    return str(ds.get("ViewPosition", "") or "").strip().upper()


def select_spine_inputs(datasets: list[Dataset], folder: str | os.PathLike) -> SpineInputs:
    """Select the images to run on among ``datasets`` (every DICOM object of ``folder``): an AP and a lateral
    radiograph of the same study (by ViewPosition, ``projection.calibration.VIEW_POSITIONS``) when there is such a
    pair, else the one DXA (:data:`DXA_MODALITIES`, no ViewPosition).

    Raises:
        SpineInputError: (naming ``folder``) no DICOM image, images of more than one patient, no DXA nor AP + lateral
            pair, or more than one DXA.
    """
    images = [ds for ds in datasets if "PixelData" in ds and "SOPInstanceUID" in ds]
    if not images:
        raise SpineInputError(folder, "no DICOM image in the folder")
    patients = sorted({str(ds.get("PatientID", "")) for ds in images})
    if len(patients) > 1:
        raise SpineInputError(folder, f"images of {len(patients)} patients (PatientID {', '.join(patients)}); "
                                      "one patient's study is expected")
    views = defaultdict(lambda: defaultdict(list))
    for ds in images:
        if view := VIEW_POSITIONS.get(_position(ds), (None,))[0]:
            views[str(ds.StudyInstanceUID)][view].append(ds)
    pairs = [(found["ap"][0], found["lateral"][0]) for found in views.values()
             if len(found["ap"]) == 1 and len(found["lateral"]) == 1]
    if pairs:
        return SpineInputs("biplanar", pairs[0])
    dxa = [ds for ds in images if not _position(ds) and str(ds.get("Modality", "")).upper() in DXA_MODALITIES]
    if len(dxa) != 1:
        found = f"{len(dxa)} DXA images" if dxa else "no DXA image"
        raise SpineInputError(folder, f"{found} and no AP + lateral pair of one study; one DXA (modality "
                                      f"{'/'.join(DXA_MODALITIES)}) or an AP and a lateral radiograph are expected")
    return SpineInputs("dxa", (dxa[0],))
