"""``infer --dxa``: one coronal DXA → the 3D spine curve (``docs/regression.md``).

Load (DICOM or 2D NIfTI, any pixel size; ``LoadRadiograph``) → spine mask (``dxa_spine_segmentation``) → the
spine's crop and heights → the six curves (``dxa_spine_curve_regression``) in the DXA's millimetres → measures,
``curves.json`` (``mode: dxa``, depth relative), ``curve3d.csv``, ``overlay.png``, ``report.png``.
"""

from __future__ import annotations

import os
import warnings
from functools import partial
from pathlib import Path

import numpy as np
from monai.data.utils import affine_to_spacing
from scipy import ndimage

from monai_spine.errors import SpineInputError, warn
from monai_spine.io.files import staged_output
from monai_spine.regression import curve_regressor, regress_dxa_curves
from monai_spine.regression.runner import regressor_limitation, regressor_version
from monai_spine.report import save_overlay
from monai_spine.segmentation import bundle_versions, segment_dxa
from monai_spine.transforms import LoadRadiograph

from .results import field_of_view_warnings, ragged_mask_warnings, write_results

__all__ = ["infer_dxa", "run_dxa", "check_dxa_mask", "write_dxa", "bone_contrast", "CORONAL_SOURCE",
           "MIN_BONE_CONTRAST", "RADIOGRAPH_MODALITIES"]

CORONAL_SOURCE = "mask"
"""The route's coronal curves by default (``regression.CORONAL_SOURCES``): the spine mask's edges, smoothed, while
the shipped regressor (0.2) places the coronal centre line 4.0 mm off on the phantom test set against 1.1 mm for the
mask (``docs/regression.md``); back to ``"regressor"`` once a retrained one measures better."""

MIN_BONE_CONTRAST = 0.08
"""Least contrast of the spine mask against a 10 mm ring around it (mean inside − mean in the ring, over the image's
1st–99th percentile range): bone is brighter than what surrounds it, 0.20–0.26 on phantom and real-CT DXA renders;
a mask found on an image without a spine (flat noise: 0.02) is not."""
RING_MM = 10.0

RADIOGRAPH_MODALITIES = ("CR", "DX", "RG", "MG", "RF", "XA")
"""DICOM modalities of X-ray radiographs, not DXA (which arrives as ``OT`` secondary captures or ``BMD``): the route
runs on them but warns, its networks having seen only DXA images."""

def bone_contrast(image, mask) -> float:
    """:data:`MIN_BONE_CONTRAST`'s measure of a DXA ``(1, W, H)`` and its spine mask on the same grid."""
    pixels, inside = np.asarray(image[0], dtype=np.float64), np.asarray(mask[0]) > 0
    spacing = affine_to_spacing(image.affine, r=2).numpy()
    size = np.maximum(2 * np.round(RING_MM / spacing) + 1, 3).astype(int)
    ring = ndimage.maximum_filter(inside, size=tuple(size), mode="constant")  # a box dilation, separable: fast
    ring &= ~inside
    low, high = np.percentile(pixels, [1, 99])
    return float((pixels[inside].mean() - pixels[ring].mean()) / max(high - low, 1e-12))


def check_dxa_mask(path, image, mask) -> None:
    """Refuse a DXA ``(1, W, H)`` whose spine ``mask`` (same grid) finds no spine.

    Raises:
        SpineInputError: the mask fails ``CheckSpineMask`` (empty, shorter than 100 mm, or of no spine's width), or
            it is not brighter than around it (:data:`MIN_BONE_CONTRAST`).
    """
    if mask.meta.get("qc_warnings"):  # empty, too short to be a spine, or a wrong pixel size: no result to trust
        raise SpineInputError(path, f"no spine found in the image: {'; '.join(mask.meta['qc_warnings'])}")
    if (contrast := bone_contrast(image, mask)) < MIN_BONE_CONTRAST:
        raise SpineInputError(path, f"no spine found in the image: the mask is no brighter than around it (contrast "
                                    f"{contrast:.2f} < {MIN_BONE_CONTRAST})")


def write_dxa(path, folder: Path, title: str, image, mask, curves, frame, inputs: dict | None = None,
              extra_warnings=(), coronal_source: str = CORONAL_SOURCE, pictures: bool = True) -> dict:
    """Write the DXA route's files into ``folder`` (:func:`~.results.write_results`, its ``pictures``) from its
    ``image`` ``(1, W, H)``, spine ``mask``, six ``curves`` and crop ``frame`` (``regression.regress_dxa_curves``);
    :func:`run_dxa`'s other arguments. Returns the measures."""
    spacing = affine_to_spacing(image.affine, r=2).tolist()
    qc = list(image.meta.get("warnings", []))
    if (modality := image.meta.get("modality", "")) in RADIOGRAPH_MODALITIES:
        warn(path, f"modality {modality} is an X-ray radiograph, not a DXA: the DXA networks were trained on DXA "
                   "images only and the curves may be wrong (AP and lateral radiographs: infer --ap --lateral)", qc)
    qc += [*field_of_view_warnings({"image": (mask, spacing)}), *ragged_mask_warnings("DXA", mask, spacing),
           *extra_warnings]
    if limitation := regressor_limitation():
        qc.append(limitation)
    inputs = {"dxa": os.fspath(path), **(inputs or {}), "modality": image.meta.get("modality", "DXA"),
              "pixel_spacing_mm": spacing,
              "crop_frame": {"centre_mm": list(frame.centre_mm), "pixel_mm": frame.pixel_mm, "size": frame.size},
              "coronal_curves_from": coronal_source,
              "depth": "relative: y has mean 0 over the sagittal centre line (a single DXA does not show depth)"}
    provenance = {"bundles": {**bundle_versions(), **regressor_version()}}
    overlay = partial(save_overlay, image=image[0].numpy(), spacing_mm=spacing, curves=curves,
                      title="dxa: spine curves")
    return write_results(folder, curves, "dxa", inputs, overlay, qc, provenance, title, pictures=pictures)


def run_dxa(path: str | os.PathLike, folder: Path, title: str, inputs: dict | None = None, extra_warnings=(),
            coronal_source: str = CORONAL_SOURCE, device: str | None = None):
    """Run the DXA route on one file and write its results into ``folder``.

    Args:
        path: the coronal DXA.
        folder: the output folder (created if missing).
        title: the report's title.
        inputs: extra ``curves.json`` inputs (e.g. the file name as the user gave it).
        extra_warnings: QC warnings the caller adds.
        coronal_source: the coronal curves from the ``"regressor"`` or from the spine ``"mask"``.
        device: the networks' device (``None``: CUDA when available).

    Returns:
        ``(curves, measures, image)``: the image as loaded, ``(1, W, H)`` with its ``meta`` (``original_affine``:
        the file's stored grid → the coronal image frame).

    Raises:
        SpineInputError: the file cannot be read as a coronal image, or no spine is found in it
            (:func:`check_dxa_mask`).
    """
    image = LoadRadiograph()(path)
    with warnings.catch_warnings():  # the mask's QC problems become the error below, said once
        warnings.simplefilter("ignore", UserWarning)
        mask = segment_dxa(image, device)
    check_dxa_mask(path, image, mask)
    curves, frame = regress_dxa_curves(image, mask, curve_regressor(device), coronal_source)
    measures = write_dxa(path, folder, title, image, mask, curves, frame, inputs, extra_warnings, coronal_source)
    return curves, measures, image


def infer_dxa(path: str | os.PathLike, out: str | os.PathLike, coronal_source: str = CORONAL_SOURCE) -> dict:
    """``monai-spine infer --dxa FILE --out DIR``: the results in ``out`` (nothing there unless all succeeded).

    Returns:
        the measures.
    """
    with staged_output(out) as stage:
        _, measures, _ = run_dxa(path, stage, f"monai-spine: {Path(path).name} (DXA)", coronal_source=coronal_source)
    return measures
