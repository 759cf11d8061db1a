"""A shipped bundle's network exported to ``model.pt2`` (``torch.export``) and ``model.onnx``, each checked against
the PyTorch network on a real input (``monai-spine export``, ``docs/commands/export.md``).

The input is an image the bundle segments (or, for the curve regressor, a DXA's spine crop) put through the
bundle's own preprocessing: a user's file, or a phantom study rendered on the fly. The export sees it with its
left-right mirror (a batch of 2, as ``torch.export`` fixes dimensions of size 1); the check runs the exported files
on the image alone, so the batch is seen to vary too.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch
from monai.transforms import Compose
from monai.utils import convert_to_tensor

from monai_spine.bundles import BUNDLE_NAMES, CURVE_BUNDLE, RADIOGRAPH_BUNDLE, bundle_root
from monai_spine.errors import SpineInputError
from monai_spine.io.files import atomic_write_text, json_text, staged_output
from monai_spine.networks.export import (
    ONNX_OPSET,
    TOLERANCE,
    OnnxRuntimeNetwork,
    export_program,
    max_abs_difference,
    save_onnx,
    save_program,
)
from monai_spine.phantom.study import make_study
from monai_spine.phantom.write import write_study
from monai_spine.regression.runner import spine_crop
from monai_spine.segmentation import segment_dxa
from monai_spine.segmentation.runner import load_bundle
from monai_spine.transforms import LoadRadiograph

__all__ = ["EXPORT_BUNDLES", "FORMATS", "PHANTOM_SEED", "ExportCheckError", "example_input", "export_bundle"]

EXPORT_BUNDLES = (*BUNDLE_NAMES, RADIOGRAPH_BUNDLE, CURVE_BUNDLE)
"""The bundles ``monai-spine export`` knows."""
FORMATS = ("pt2", "onnx")
"""``model.pt2`` (``torch.export``) and ``model.onnx`` (opset ``ONNX_OPSET``)."""
PHANTOM_SEED = 0
"""The phantom study giving the check's input when the user gives no image."""

_PHANTOM_FILES = {  # bundle → (phantom modality group, file of the study the bundle reads)
    BUNDLE_NAMES[0]: ("dxa", "dxa.dcm"),
    BUNDLE_NAMES[1]: ("mri", "mri_in_phase.nii.gz"),
    RADIOGRAPH_BUNDLE: ("biplanar", "ap.dcm"),
    CURVE_BUNDLE: ("dxa", "dxa.dcm"),
}


class ExportCheckError(RuntimeError):
    """An exported network's outputs differ from the PyTorch network's by more than ``TOLERANCE``."""


def example_input(parser, image: str | os.PathLike) -> torch.Tensor:
    """The network's input ``(2, C, *spatial)`` from ``image`` (a file the bundle of ``parser`` reads): the image
    after the bundle's ``image_transforms`` and its left-right mirror; for the MRI bundle (2.5D) the two middle
    slices' adjacent-slice stacks; for the curve regressor the DXA's spine crop (mask by ``dxa_spine_segmentation``).
    """
    if parser.get("loader") is None:  # the curve regressor: a DXA → its spine crop
        dxa = LoadRadiograph()(image)
        crop = spine_crop(dxa, segment_dxa(dxa), float(parser["crop_pixel_mm"]), int(parser["crop_size"]),
                          parser.get("crop_spine_fill")).crop
        x = torch.as_tensor(crop, dtype=torch.float32)[None]
    else:
        x = parser.get_parsed_content("loader")({"image": image})["image"]
    x = convert_to_tensor(Compose(parser.get_parsed_content("image_transforms"))({"image": x})["image"],
                          dtype=torch.float32, track_meta=False)
    if x.ndim == 4:  # (3 adjacent slices, X, Y, Z): slices along Z, as the bundle's SliceInferer takes them
        middle = x.shape[-1] // 2
        return x[..., middle : middle + 2].permute(3, 0, 1, 2).contiguous()
    return torch.stack([x, x.flip(1)])


def _phantom_image(name: str, folder: Path) -> Path:
    group, file = _PHANTOM_FILES[name]
    write_study(make_study(PHANTOM_SEED, modalities=(group,)), folder / "study", modalities=(group,))
    return folder / "study" / file


def _check_out(out: Path) -> None:
    """``out`` can be made and written: its nearest existing folder is a writable folder."""
    existing = next(p for p in (out, *out.parents) if p.exists())
    if not existing.is_dir():
        raise SpineInputError(out, f"cannot make an output folder here: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise SpineInputError(out, f"cannot write into {existing}")


def export_bundle(name: str, out: str | os.PathLike, formats=FORMATS, image: str | os.PathLike | None = None) -> dict:
    """Export bundle ``name``'s network (its shipped weights, eval mode, CPU) into ``out`` and check each file.

    Writes ``model.pt2`` and/or ``model.onnx`` (:data:`FORMATS`) and ``export.json`` (what was written, the input's
    shape, the dynamic dimensions, each file's largest absolute difference from PyTorch); all or nothing.

    Args:
        name: one of :data:`EXPORT_BUNDLES`.
        out: the output folder.
        formats: a subset of :data:`FORMATS`.
        image: the check's image (a file the bundle reads; a DXA for the curve regressor); default a phantom study.

    Returns:
        ``export.json``'s content.

    Raises:
        SpineInputError: ``out`` cannot be written, or ``image`` cannot be read.
        ExportCheckError: a file's outputs differ from PyTorch's by more than ``TOLERANCE``.
    """
    out = Path(out)
    _check_out(out)
    parser, _, network = load_bundle(bundle_root(name), "cpu")
    with tempfile.TemporaryDirectory() as tmp:
        x = example_input(parser, image or _phantom_image(name, Path(tmp)))
    dynamic_spatial = parser.get("loader") is not None  # the segmentation UNets take any image size
    check = x[:1]
    report = {"bundle": name, "version": parser["_meta_#version"], "torch": torch.__version__,
              "example_shape": list(x.shape), "check_shape": list(check.shape),
              "dynamic_dims": [0, *range(2, x.ndim)] if dynamic_spatial else [0], "tolerance": TOLERANCE, "files": {}}
    with staged_output(out) as stage:
        for fmt in formats:
            if fmt == "pt2":
                path = save_program(export_program(network, x, dynamic_spatial), stage / "model.pt2")
                exported = torch.export.load(path).module()
            else:
                path = save_onnx(network, x, stage / "model.onnx", dynamic_spatial)
                exported = OnnxRuntimeNetwork(path)
            difference = max_abs_difference(network, exported, check)
            if difference > TOLERANCE:
                raise ExportCheckError(f"{name} {path.name}: outputs differ from PyTorch by {difference:.3g} "
                                       f"(> {TOLERANCE})")
            report["files"][path.name] = {"format": fmt, "max_abs_difference": difference}
            if fmt == "onnx":
                report["files"][path.name]["opset"] = ONNX_OPSET
        atomic_write_text(stage / "export.json", json_text(report))
    return report
