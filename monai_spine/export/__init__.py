"""The shipped bundles' networks as files that run without their Python classes: ``torch.export`` programs
(``.pt2``) and ONNX models, checked against PyTorch (``monai-spine export``, ``docs/commands/export.md``)."""

from .bundle import EXPORT_BUNDLES, FORMATS, ExportCheckError, example_input, export_bundle

__all__ = ["EXPORT_BUNDLES", "FORMATS", "ExportCheckError", "example_input", "export_bundle"]
