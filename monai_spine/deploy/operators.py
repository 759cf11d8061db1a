"""The application's operators beside the SDK's DICOM loader: series selection, the spine route, the DICOM writer.

Each is a MONAI Deploy ``Operator`` (a Holoscan operator): ports declared in ``setup``, work in ``compute``.
"""

from __future__ import annotations

from pathlib import Path

from monai.deploy.core import Fragment, Operator, OperatorSpec

from monai_spine.pipelines import dicom_results
from monai_spine.pipelines.biplanar import run_biplanar
from monai_spine.pipelines.dxa import run_dxa

from .series import select_spine_inputs

__all__ = ["SpineSeriesSelectorOperator", "SpineCurveOperator", "SpineDicomWriterOperator"]


class SpineSeriesSelectorOperator(Operator):
    """``dicom_study_list`` (the SDK's ``DICOMDataLoaderOperator``) → ``spine_inputs``
    (:class:`~monai_spine.deploy.series.SpineInputs`: one DXA, or an AP + lateral pair of one study).

    Args:
        fragment: the application.
        folder: the input folder, named in errors.
    """

    def __init__(self, fragment: Fragment, *args, folder: Path, **kwargs):
        self.folder = Path(folder)
        super().__init__(fragment, *args, **kwargs)

    def setup(self, spec: OperatorSpec):
        spec.input("dicom_study_list")
        spec.output("spine_inputs")

    def compute(self, op_input, op_output, context):
        studies = op_input.receive("dicom_study_list") or []
        datasets = [sop.get_native_sop_instance() for study in studies for series in study.get_all_series()
                    for sop in series.get_sop_instances()]
        op_output.emit(select_spine_inputs(datasets, self.folder), "spine_inputs")


class SpineCurveOperator(Operator):
    """``spine_inputs`` → the route's files in ``output_folder`` (``curves.json``, ``curve3d.csv``, ``overlay.png``,
    ``report.png``: ``pipelines.results``) and ``spine_result``: a dict of ``mode``, ``curves`` (mm), ``measures``,
    ``source`` (the image the coronal line is drawn on), ``file_affine`` (its stored grid → coronal image frame),
    ``coronal_line_mm`` (the coronal centre line in that image's frame, mm) and ``evidence`` (the other images). The
    bundles are found by ``monai_spine.bundles.bundle_root``."""

    def __init__(self, fragment: Fragment, *args, output_folder: Path, **kwargs):
        self.output_folder = Path(output_folder)
        super().__init__(fragment, *args, **kwargs)

    def setup(self, spec: OperatorSpec):
        spec.input("spine_inputs")
        spec.output("spine_result")

    def compute(self, op_input, op_output, context):
        mode, images = op_input.receive("spine_inputs")
        paths = [image.filename for image in images]
        title = f"monai-spine deploy: {' + '.join(Path(p).name for p in paths)} ({mode})"
        if mode == "dxa":
            curves, measures, image = run_dxa(paths[0], self.output_folder, title)
            file_affine, coronal_line = image.meta["original_affine"], curves.coronal_centre
        else:
            result, measures = run_biplanar(*paths, self.output_folder, title)
            curves, file_affine = result.curves, result.images[0].meta["original_affine"]
            coronal_line = result.view_curves()[0][0]  # the AP's centre line, as the AP shows it
        op_output.emit({"mode": mode, "curves": curves, "measures": measures, "source": images[0],
                        "file_affine": file_affine, "coronal_line_mm": coronal_line, "evidence": images[1:]},
                       "spine_result")


class SpineDicomWriterOperator(Operator):
    """``spine_result`` → the Comprehensive 3D SR and the secondary capture of ``report.png`` in ``output_folder``
    (``pipelines.dicom_results``)."""

    def __init__(self, fragment: Fragment, *args, output_folder: Path, **kwargs):
        self.output_folder = Path(output_folder)
        super().__init__(fragment, *args, **kwargs)

    def setup(self, spec: OperatorSpec):
        spec.input("spine_result")

    def compute(self, op_input, op_output, context):
        result = op_input.receive("spine_result")
        dicom_results.write_dicom_results(self.output_folder, result["curves"], result["measures"], result["source"],
                                          result["file_affine"], result["mode"], result["evidence"],
                                          result["coronal_line_mm"])
