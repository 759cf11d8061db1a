"""Rendered studies and how they are written, whatever renders them (the phantom, a user's CT).

:mod:`.model` is the data model (:class:`RenderedStudy` and its parts), :mod:`.write` the folder layout and
``truth.json``, :mod:`.dicom` the deterministic DICOM writers.
"""

from .dicom import write_ct_series, write_radiograph
from .model import CtPart, DxaPart, MriPart, RadiographPart, RenderedStudy, lai_origin_spacing
from .write import FILES, MODALITIES, MRI_MAX_STORED, TRUTH_SCHEMA, write_study

__all__ = [
    "CtPart",
    "DxaPart",
    "FILES",
    "MODALITIES",
    "MRI_MAX_STORED",
    "MriPart",
    "RadiographPart",
    "RenderedStudy",
    "TRUTH_SCHEMA",
    "lai_origin_spacing",
    "write_ct_series",
    "write_radiograph",
    "write_study",
]
