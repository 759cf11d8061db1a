"""The MONAI Deploy application: DICOM in (a folder), spine curve and DICOM results out."""

from __future__ import annotations

from pathlib import Path

from monai.deploy.conditions import CountCondition
from monai.deploy.core import Application
from monai.deploy.operators import DICOMDataLoaderOperator

from .operators import SpineCurveOperator, SpineDicomWriterOperator, SpineSeriesSelectorOperator

__all__ = ["SpineApp"]


class SpineApp(Application):
    """DICOM loader (SDK) → :class:`SpineSeriesSelectorOperator` → :class:`SpineCurveOperator` →
    :class:`SpineDicomWriterOperator`.

    Args:
        input_folder: the DICOM files (any depth).
        output_folder: where the files go (the caller stages it: ``io.files.staged_output``).
    """

    name = "monai-spine"
    description = "DICOM in (a DXA, or an AP and a lateral radiograph), 3D spine curve and DICOM SR out"

    def __init__(self, input_folder: Path, output_folder: Path, *args, **kwargs):
        self.input_folder, self.output_folder = Path(input_folder), Path(output_folder)
        super().__init__([__name__], *args, **kwargs)  # argv: our own options are parsed by __main__

    def compose(self):
        loader = DICOMDataLoaderOperator(self, CountCondition(self, 1), input_folder=self.input_folder,
                                         must_load=False, name="dicom_loader")  # one run: the source fires once
        selector = SpineSeriesSelectorOperator(self, folder=self.input_folder, name="spine_series_selector")
        curve = SpineCurveOperator(self, output_folder=self.output_folder, name="spine_curve")
        writer = SpineDicomWriterOperator(self, output_folder=self.output_folder, name="spine_dicom_writer")
        self.add_flow(loader, selector, {("dicom_study_list", "dicom_study_list")})
        self.add_flow(selector, curve, {("spine_inputs", "spine_inputs")})
        self.add_flow(curve, writer, {("spine_result", "spine_result")})
