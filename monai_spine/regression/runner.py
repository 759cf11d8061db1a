"""The curve regressor bundle run in-process on a DXA already loaded and segmented.

:class:`BundleCurveRegressor` parses the bundle's ``inference.json`` (network, weights, crop pixel size and the
crop's ``image_transforms``), as ``segmentation.BundleSegmenter`` does for the segmentation bundles, so the
pipeline and ``python -m monai.bundle run`` share one definition. :func:`regress_dxa_curves` is the pipeline's
step: the spine mask gives the crop frame and the spine's heights, the network the six curves.
"""

from __future__ import annotations

import os
from functools import cache

import numpy as np
import torch
from monai.data import MetaTensor
from monai.transforms import Compose

from monai_spine.bundles import CURVE_BUNDLE, bundle_root
from monai_spine.cohort import coronal_curves, crop_image, curves_from_crop
from monai_spine.geometry import MASK_SMOOTHING_MM, CropFrame, HeightFrame, SpineCurves, smooth_along_height
from monai_spine.segmentation.runner import bundle_limitation, load_bundle, runtime_network

__all__ = [
    "BundleCurveRegressor",
    "CORONAL_SOURCES",
    "END_ROW_FRACTION",
    "dxa_crop",
    "regress_dxa_curves",
    "regressor_limitation",
    "regressor_version",
]

END_ROW_FRACTION = 0.3
"""The spine's top and bottom are the first and last mask rows this wide (fraction of the median width): a stray
row is not the spine's end, while the cervical spine (C2–C6 about half as wide as the lumbar spine) is kept, as in
the truth curves the regressor learns from."""


class BundleCurveRegressor:
    """Normalised curves ``(6, N)`` of a DXA crop, from the curve regressor bundle.

    Args:
        bundle_root: the bundle folder (``configs/inference.json``; weights at its ``ckpt_path``, fp16 or fp32).
        device: torch device; default CUDA when available.
        runtime: what runs the network (``segmentation.runner.RUNTIMES``).
    """

    def __init__(self, bundle_root: str | os.PathLike, device: str | torch.device | None = None,
                 runtime: str = "auto") -> None:
        parser, self.device, network = load_bundle(bundle_root, device)
        self.network = runtime_network(parser, self.device, network, dynamic_spatial=False, runtime=runtime)
        self.preprocessing = Compose(parser.get_parsed_content("image_transforms"))
        self.crop_pixel_mm = float(parser.get_parsed_content("crop_pixel_mm"))
        self.crop_size = int(parser.get_parsed_content("crop_size"))
        self.version = parser["_meta_#version"]

    def __call__(self, crop: np.ndarray) -> np.ndarray:
        """``crop``: ``(S, S)`` of ``(u, v)`` (``cohort.crop_image``) → ``(6, N)`` values normalised to the crop."""
        image = self.preprocessing({"image": torch.as_tensor(crop, dtype=torch.float32)[None]})["image"]
        with torch.inference_mode():
            values = self.network(torch.as_tensor(image)[None].to(self.device))[0]
        return values.float().cpu().numpy().astype(np.float64)


@cache
def _regressor() -> BundleCurveRegressor:
    return BundleCurveRegressor(bundle_root(CURVE_BUNDLE))


def regressor_version() -> dict[str, str]:
    """``{bundle name: version}`` of the curve regressor bundle, for ``curves.json``'s provenance."""
    return {CURVE_BUNDLE: _regressor().version}


def regressor_limitation() -> str:
    """The shipped regressor's ``known_limitation`` (``metadata.json``): a QC warning on every result while its
    weights miss their accuracy targets; empty once they meet them."""
    return bundle_limitation(CURVE_BUNDLE)


CORONAL_SOURCES = ("regressor", "mask")
"""Where the DXA route's coronal curves come from: the regressor (all six curves, the published method) or the
spine mask's edges (``coronal_curves``, smoothed over :data:`MASK_SMOOTHING_MM`), with the sagittal curves from the
regressor."""

def dxa_crop(image: MetaTensor, mask: MetaTensor, crop_pixel_mm: float, crop_size: int):
    """The regressor's input of a DXA: the crop around its spine mask's coronal centre line.

    Args:
        image: ``(1, W, H)`` ``MetaTensor`` as ``LoadRadiograph`` gives it.
        mask: its spine mask, same grid.
        crop_pixel_mm: the crop's pixel size, mm (the bundle's ``crop_pixel_mm``).
        crop_size: the crop's side, pixels (the bundle's ``crop_size``).

    Returns:
        ``(crop, crop_frame, heights, coronal)``: the ``(S, S)`` crop of ``(u, v)``
        (:func:`~monai_spine.cohort.crop_image`), its :class:`~monai_spine.geometry.CropFrame`, the spine's
        :class:`~monai_spine.geometry.HeightFrame` and the mask's coronal curves.
    """
    coronal = coronal_curves(mask, min_width_fraction=END_ROW_FRACTION)
    frame = CropFrame.around(coronal.centre, crop_pixel_mm, crop_size)
    return crop_image(image, frame), frame, HeightFrame.of_curve(coronal.centre), coronal


def regress_dxa_curves(image: MetaTensor, mask: MetaTensor, regressor: BundleCurveRegressor | None = None,
                       coronal_source: str = "regressor"):
    """The six spine curves of a coronal DXA, DXA frame mm.

    The mask's coronal centre line gives the spine's top and bottom (the 209 heights) and the crop frame
    (:meth:`~monai_spine.geometry.CropFrame.around`, the bundle's crop pixel size); the regressor gives every
    curve at those heights. With ``coronal_source="mask"`` the coronal curves are the mask's own, at the same
    heights, smoothed over :data:`MASK_SMOOTHING_MM` (:data:`CORONAL_SOURCES`).

    Args:
        image: ``(1, W, H)`` ``MetaTensor`` as ``LoadRadiograph`` gives it.
        mask: its spine mask (``segmentation.segment_dxa``), same grid.
        regressor: default the shipped bundle's.
        coronal_source: ``"regressor"`` or ``"mask"``.

    Returns:
        ``(curves, crop_frame)``: :class:`~monai_spine.geometry.SpineCurves` (coronal ``(x, z)`` in the image
        frame; sagittal ``(y, z)`` with relative depth) and the :class:`~monai_spine.geometry.CropFrame` used.
    """
    regressor = regressor or _regressor()
    if coronal_source not in CORONAL_SOURCES:
        raise ValueError(f"coronal_source must be one of {CORONAL_SOURCES}, got {coronal_source!r}.")
    crop, frame, heights, coronal = dxa_crop(image, mask, regressor.crop_pixel_mm, regressor.crop_size)
    curves = curves_from_crop(regressor(crop), frame, heights)
    if coronal_source == "mask":
        mask_curves = (smooth_along_height(heights.curve(heights.values(c)), MASK_SMOOTHING_MM) for c in coronal)
        curves = SpineCurves(*mask_curves, *curves.to_array()[3:])
    return curves, frame
