"""Transforms of the DXA curve regressor: its targets from ``targets.json`` and the crop jitter that moves image and
targets together (``docs/regression.md``).

Targets are the six curves of ``targets.json``'s ``curves_crop_px`` as a ``(6, N)`` array, normalised to the crop:
coronal values are crop columns ``u / S`` (0 at the crop's left edge, 1 at its right), sagittal values are relative
depth in crop pixels ``y / (s · S)`` (mean 0), where ``S`` is the crop side in pixels and ``s`` its pixel size. The
``N`` values of a curve lie at ``N`` heights evenly spaced from the spine's top to its bottom, so moving the crop up
or down does not change them.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from monai.config import KeysCollection
from monai.transforms import MapTransform, RandomizableTransform, Transform

from monai_spine.geometry import CURVE_NAMES

__all__ = [
    "CORONAL_CURVES",
    "LoadCurveTargets",
    "LoadCurveTargetsd",
    "LoadCurveTargetsD",
    "LoadCurveTargetsDict",
    "RandCurveCropJitterd",
    "RandCurveCropJitterD",
    "RandCurveCropJitterDict",
    "SaveCurveValuesd",
    "SaveCurveValuesD",
    "SaveCurveValuesDict",
    "jitter_crop",
]

CORONAL_CURVES = 3
"""The first three curves are coronal (crop columns), the last three sagittal (relative depth)."""


class LoadCurveTargets(Transform):
    """``targets.json`` (``docs/cohort.md``) → the regressor's target, float32 ``(6, N)`` normalised to the crop.

    Coronal curves: ``u / S``; sagittal curves: ``y_px / S`` (relative depth in crop pixels over the crop side).
    """

    def __call__(self, path) -> torch.Tensor:
        with open(path, encoding="utf-8") as file:
            document = json.load(file)
        size = document["crop_frame"]["size"]
        curves = np.array([document["curves_crop_px"][name] for name in CURVE_NAMES], dtype=np.float32)
        return torch.from_numpy(curves[:, :, 0] / size)


class LoadCurveTargetsd(MapTransform):
    """Dictionary form of :class:`LoadCurveTargets`: each key's ``targets.json`` path → its ``(6, N)`` target."""

    def __init__(self, keys: KeysCollection, allow_missing_keys: bool = False) -> None:
        super().__init__(keys, allow_missing_keys)
        self.loader = LoadCurveTargets()

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self.loader(d[key])
        return d


def jitter_crop(image: torch.Tensor, curves: torch.Tensor, shift_px: Sequence[float], zoom: float):
    """Move a crop and its targets: the content is zoomed by ``zoom`` about the crop centre, then shifted by
    ``shift_px = (du, dv)`` crop pixels; outside the old crop the image is 0 (a DXA's background).

    Args:
        image: ``(C, S, S)``, axis 1 the crop columns ``u``, axis 2 the rows ``v``.
        curves: ``(6, N)`` normalised targets (:class:`LoadCurveTargets`).
        shift_px: ``(du, dv)``, crop pixels.
        zoom: scale factor (> 1 enlarges the spine).

    Returns:
        ``(image, curves)``: a point at column ``u`` moves to ``c + zoom (u − c) + du`` (``c = (S − 1) / 2``), so
        coronal values ``x`` become ``0.5 − 0.5 / S + zoom (x − 0.5 + 0.5 / S) + du / S``; relative depths are
        multiplied by ``zoom``; heights are the spine's own and keep their values.
    """
    size = image.shape[-1]
    du, dv = (float(s) for s in shift_px)
    # grid_sample's normalised coordinates (align_corners=True): p = 2 u / (S − 1) − 1; output p ← input (p − t) / zoom
    theta = torch.tensor([[1 / zoom, 0.0, -2 * dv / (size - 1) / zoom],
                          [0.0, 1 / zoom, -2 * du / (size - 1) / zoom]], dtype=torch.float32)
    grid = F.affine_grid(theta[None], [1, image.shape[0], size, size], align_corners=True)
    moved = F.grid_sample(torch.as_tensor(image, dtype=torch.float32)[None], grid, mode="bilinear",
                          padding_mode="zeros", align_corners=True)[0]
    centre = (size - 1) / 2 / size
    curves = torch.as_tensor(curves, dtype=torch.float32).clone()
    curves[:CORONAL_CURVES] = centre + zoom * (curves[:CORONAL_CURVES] - centre) + du / size
    curves[CORONAL_CURVES:] = zoom * curves[CORONAL_CURVES:]
    return moved, curves


class RandCurveCropJitterd(RandomizableTransform, MapTransform):
    """Random crop jitter for the regressor (:func:`jitter_crop`): an imperfect crop centre and spine size, as a
    segmentation mask that errs at the spine's ends gives them.

    Args:
        image_key: the crop ``(C, S, S)``.
        curves_key: its ``(6, N)`` targets.
        max_shift_px: shifts drawn uniformly in ``±max_shift_px`` crop pixels on each axis.
        zoom_range: zoom drawn log-uniformly in this range.
        prob: probability of a jitter.
    """

    def __init__(self, image_key: str = "image", curves_key: str = "label", max_shift_px: float = 8.0,
                 zoom_range: tuple[float, float] = (0.92, 1.08), prob: float = 0.8,
                 allow_missing_keys: bool = False) -> None:
        MapTransform.__init__(self, [image_key, curves_key], allow_missing_keys)
        RandomizableTransform.__init__(self, prob)
        self.image_key, self.curves_key = image_key, curves_key
        self.max_shift_px, self.zoom_range = max_shift_px, zoom_range
        self._shift, self._zoom = (0.0, 0.0), 1.0

    def randomize(self, data=None) -> None:
        super().randomize(None)
        if self._do_transform:
            self._shift = tuple(self.R.uniform(-self.max_shift_px, self.max_shift_px, 2))
            self._zoom = math.exp(self.R.uniform(*np.log(self.zoom_range)))

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        self.randomize()
        if self._do_transform:
            d[self.image_key], d[self.curves_key] = jitter_crop(d[self.image_key], d[self.curves_key],
                                                                self._shift, self._zoom)
        return d


LoadCurveTargetsD = LoadCurveTargetsDict = LoadCurveTargetsd
class SaveCurveValuesd(MapTransform):
    """Write each key's ``(6, N)`` curve values as ``OUTPUT_DIR/<image file stem>_curves.json``: ``{"curve_names",
    "values"}`` (normalised to the crop, as :class:`LoadCurveTargets` gives them), for the bundle's file-to-file
    inference.

    Args:
        keys: the predictions.
        output_dir: folder to write into (created).
        image_key: whose ``meta["filename_or_obj"]`` names the file.
    """

    def __init__(self, keys: KeysCollection, output_dir: str, image_key: str = "image",
                 allow_missing_keys: bool = False) -> None:
        super().__init__(keys, allow_missing_keys)
        self.output_dir, self.image_key = output_dir, image_key

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        name = os.path.basename(str(d[self.image_key].meta["filename_or_obj"])).split(".")[0]
        os.makedirs(self.output_dir, exist_ok=True)
        for key in self.key_iterator(d):
            values = np.asarray(torch.as_tensor(d[key]).detach().cpu(), dtype=np.float64).round(6)
            document = {"curve_names": list(CURVE_NAMES), "values": values.tolist()}
            with open(os.path.join(self.output_dir, f"{name}_curves.json"), "w", encoding="utf-8") as file:
                json.dump(document, file)
        return d


RandCurveCropJitterD = RandCurveCropJitterDict = RandCurveCropJitterd
SaveCurveValuesD = SaveCurveValuesDict = SaveCurveValuesd
