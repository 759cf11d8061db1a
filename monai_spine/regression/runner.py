"""The curve regressor bundle run in-process on a DXA already loaded and segmented.

:class:`BundleCurveRegressor` parses the bundle's ``inference.json`` (network, weights, crop pixel size and the
crop's ``image_transforms``), as ``segmentation.BundleSegmenter`` does for the segmentation bundles, so the
pipeline and ``python -m monai.bundle run`` share one definition. :func:`regress_dxa_curves` is the pipeline's
step: the spine mask gives the crop frame and the spine's heights, the network the six curves.
"""

from __future__ import annotations

import os
from functools import cache
from typing import NamedTuple

import numpy as np
import torch
from monai.data import MetaTensor
from monai.transforms import Compose
from monai.utils import convert_to_tensor

from monai_spine.bundles import CURVE_BUNDLE, bundle_root
from monai_spine.cohort import coronal_curves, crop_image, curves_from_crop
from monai_spine.geometry import MASK_SMOOTHING_MM, CropFrame, HeightFrame, SpineCurves, smooth_along_height
from monai_spine.segmentation.runner import bundle_limitation, load_bundle, runtime_network

__all__ = [
    "BundleCurveRegressor",
    "CORONAL_SOURCES",
    "END_ROW_FRACTION",
    "TAIL_WIDTH_FRACTION",
    "SpineCrop",
    "crop_curves",
    "curve_regressor",
    "regress_dxa_curves",
    "spine_crop",
    "regressor_limitation",
    "regressor_version",
]

END_ROW_FRACTION = 0.3
"""The spine's top and bottom are the first and last mask rows this wide (fraction of the median width): a stray
row is not the spine's end, while the cervical spine (C2–C6 about half as wide as the lumbar spine) is kept, as in
the truth curves the regressor learns from."""

TAIL_WIDTH_FRACTION = 0.7
"""The spine's bottom is the last mask row at least this wide (fraction of the median width of the mask's lowest
:data:`~monai_spine.geometry.extract.TAIL_WINDOW_MM`): the DXA bundle's mask runs past the S1 body into the sacrum
as a narrower tail, 1–49 mm on renders of the real CT and 3–45 mm (median 14) on the phantom test set, where the
regressor learnt the spine's heights from the truth, which ends with the S1 body (``docs/regression.md``)."""


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
        self.crop_spine_fill = parser.get_parsed_content("crop_spine_fill", default=None)
        self.version = parser["_meta_#version"]

    def crop(self, image: MetaTensor, mask: MetaTensor) -> SpineCrop:
        """:func:`spine_crop` of a DXA ``(1, W, H)`` and its spine mask with the bundle's ``crop_pixel_mm``,
        ``crop_size`` and ``crop_spine_fill`` (``None`` when the bundle has none: a fixed pixel size)."""
        return spine_crop(image, mask, self.crop_pixel_mm, self.crop_size, self.crop_spine_fill)

    def preprocess(self, crop: np.ndarray) -> torch.Tensor:
        """``crop``: ``(S, S)`` of ``(u, v)`` (``cohort.crop_image``) → the network's input ``(1, S, S)``."""
        return self.preprocessing({"image": torch.as_tensor(crop, dtype=torch.float32)[None]})["image"]

    def predict(self, images) -> list[np.ndarray]:
        """``(6, N)`` values normalised to the crop of each of :meth:`preprocess`'s ``(1, S, S)``, run as one batch
        on the device."""
        batch = torch.stack([convert_to_tensor(image, track_meta=False) for image in images]).to(self.device)
        with torch.inference_mode():
            values = self.network(batch)
        return list(values.float().cpu().numpy().astype(np.float64))

    def __call__(self, crop: np.ndarray) -> np.ndarray:
        """``crop``: ``(S, S)`` of ``(u, v)`` (``cohort.crop_image``) → ``(6, N)`` values normalised to the crop."""
        return self.predict([self.preprocess(crop)])[0]


@cache
def curve_regressor(device: str | None = None) -> BundleCurveRegressor:
    """The shipped curve regressor on ``device`` (``None``: CUDA when available), built once per process."""
    return BundleCurveRegressor(bundle_root(CURVE_BUNDLE), device)


def regressor_version() -> dict[str, str]:
    """``{bundle name: version}`` of the curve regressor bundle, for ``curves.json``'s provenance."""
    return {CURVE_BUNDLE: curve_regressor(None).version}


def regressor_limitation() -> str:
    """The shipped regressor's ``known_limitation`` (``metadata.json``): a QC warning on every result while its
    weights miss their accuracy targets; empty once they meet them."""
    return bundle_limitation(CURVE_BUNDLE)


CORONAL_SOURCES = ("regressor", "mask")
"""Where the DXA route's coronal curves come from: the regressor (all six curves, the published method) or the
spine mask's edges (``coronal_curves``, smoothed over :data:`MASK_SMOOTHING_MM`), with the sagittal curves from the
regressor."""

class SpineCrop(NamedTuple):
    """:func:`spine_crop`'s result: the regressor's ``crop`` ``(S, S)``, its ``frame``
    (:class:`~monai_spine.geometry.CropFrame`), the spine's ``heights`` (:class:`~monai_spine.geometry.HeightFrame`)
    and the mask's ``coronal`` curves (``BoundaryCurves``, DXA frame mm)."""

    crop: np.ndarray
    frame: CropFrame
    heights: HeightFrame
    coronal: tuple


def spine_crop(image: MetaTensor, mask: MetaTensor, crop_pixel_mm: float, crop_size: int,
               spine_fill: float | None = None) -> SpineCrop:
    """The regressor's crop of a coronal DXA ``(1, W, H)`` around its spine ``mask`` (same grid): the mask's
    coronal centre line gives the spine's top and bottom (the 209 heights) and the crop frame
    (:meth:`~monai_spine.geometry.CropFrame.around`: ``crop_size`` pixels of ``crop_pixel_mm``, or smaller ones
    with ``spine_fill``; the bundle's ``crop_size``, ``crop_pixel_mm`` and ``crop_spine_fill``)."""
    coronal = coronal_curves(mask, min_width_fraction=END_ROW_FRACTION, tail_width_fraction=TAIL_WIDTH_FRACTION)
    frame = CropFrame.around(coronal.centre, crop_pixel_mm, crop_size, spine_fill)
    return SpineCrop(crop_image(image, frame), frame, HeightFrame.of_curve(coronal.centre), coronal)


def crop_curves(values: np.ndarray, crop: SpineCrop, coronal_source: str = "regressor") -> SpineCurves:
    """The six curves, DXA frame mm, from the regressor's ``values`` ``(6, N)`` on ``crop``: all from the regressor,
    or with ``coronal_source="mask"`` the coronal ones from the mask, smoothed over :data:`MASK_SMOOTHING_MM`
    (:data:`CORONAL_SOURCES`)."""
    if coronal_source not in CORONAL_SOURCES:
        raise ValueError(f"coronal_source must be one of {CORONAL_SOURCES}, got {coronal_source!r}.")
    curves = curves_from_crop(values, crop.frame, crop.heights)
    if coronal_source == "mask":
        heights = crop.heights
        mask_curves = (smooth_along_height(heights.curve(heights.values(c)), MASK_SMOOTHING_MM) for c in crop.coronal)
        curves = SpineCurves(*mask_curves, *curves.to_array()[3:])
    return curves


def regress_dxa_curves(image: MetaTensor, mask: MetaTensor, regressor: BundleCurveRegressor | None = None,
                       coronal_source: str = "regressor"):
    """The six spine curves of a coronal DXA, DXA frame mm: :func:`spine_crop`, the regressor, :func:`crop_curves`.

    Args:
        image: ``(1, W, H)`` ``MetaTensor`` as ``LoadRadiograph`` gives it.
        mask: its spine mask (``segmentation.segment_dxa``), same grid.
        regressor: default the shipped bundle's.
        coronal_source: ``"regressor"`` or ``"mask"``.

    Returns:
        ``(curves, crop_frame)``: :class:`~monai_spine.geometry.SpineCurves` (coronal ``(x, z)`` in the image
        frame; sagittal ``(y, z)`` with relative depth) and the :class:`~monai_spine.geometry.CropFrame` used.
    """
    regressor = regressor or curve_regressor(None)
    crop = regressor.crop(image, mask)
    return crop_curves(regressor(crop.crop), crop, coronal_source), crop.frame
