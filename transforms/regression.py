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
    "RandCurveFieldOfViewd",
    "RandCurveFieldOfViewD",
    "RandCurveFieldOfViewDict",
    "RandCurveFieldWidthd",
    "RandCurveFieldWidthD",
    "RandCurveFieldWidthDict",
    "SaveCurveValuesd",
    "SaveCurveValuesD",
    "SaveCurveValuesDict",
    "cut_curve_field_of_view",
    "cut_curve_field_width",
    "jitter_crop",
]

CORONAL_CURVES = 3
"""The first three curves are coronal (crop columns), the last three sagittal (relative depth)."""


class LoadCurveTargets(Transform):
    """``targets.json`` (``docs/cohort.md``) → the regressor's target, float32 ``(6, N)`` normalised to the crop.

    Coronal curves: ``u / S``; sagittal curves: ``y_px / S`` (relative depth in crop pixels over the crop side).
    With ``with_rows=True`` it returns ``(target, rows)``: also the crop rows of the ``N`` heights over the crop
    side, float32 ``(N,)`` (``v / S``), which :class:`RandCurveFieldOfViewd` needs to cut the image.
    """

    def __init__(self, with_rows: bool = False) -> None:
        self.with_rows = with_rows

    def __call__(self, path):
        with open(path, encoding="utf-8") as file:
            document = json.load(file)
        size = document["crop_frame"]["size"]
        curves = np.array([document["curves_crop_px"][name] for name in CURVE_NAMES], dtype=np.float32) / size
        target = torch.from_numpy(curves[:, :, 0])
        return (target, torch.from_numpy(curves[0, :, 1])) if self.with_rows else target


class LoadCurveTargetsd(MapTransform):
    """Dictionary form of :class:`LoadCurveTargets`: each key's ``targets.json`` path → its ``(6, N)`` target; with
    ``rows_key`` (one key only) the heights' crop rows ``(N,)`` go to ``rows_key`` too."""

    def __init__(self, keys: KeysCollection, rows_key: str | None = None, allow_missing_keys: bool = False) -> None:
        super().__init__(keys, allow_missing_keys)
        if rows_key is not None and len(self.keys) != 1:
            raise ValueError(f"rows_key needs exactly one key, got {self.keys}.")
        self.rows_key = rows_key
        self.loader = LoadCurveTargets(with_rows=rows_key is not None)

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        for key in self.key_iterator(d):
            if self.rows_key is None:
                d[key] = self.loader(d[key])
            else:
                d[key], d[self.rows_key] = self.loader(d[key])
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


def cut_curve_field_of_view(image: torch.Tensor, curves: torch.Tensor, rows: torch.Tensor, top: float, bottom: float):
    """The crop of the same spine in an image whose field of view keeps only the heights from ``top`` to ``bottom``
    (shares of the spine's length from its top, ``0 ≤ top < bottom ≤ 1``): a chest image cut below the thoracic
    spine, a lumbar image cut above T11.

    The image rows beyond a cut are background (0, as outside an image, :func:`jitter_crop`); the ``N`` targets are
    resampled at ``N`` heights from the new top to the new bottom; the sagittal curves get the mean of the kept
    sagittal centre line as their zero (relative depth); the crop is moved by ``(du, dv)`` crop pixels so that the
    kept spine's end points' midpoint is its centre, as :func:`~monai_spine.geometry.crop_centre` places the crop of
    a cut spine.

    Args:
        image: ``(C, S, S)``, axis 1 the crop columns ``u``, axis 2 the rows ``v``.
        curves: ``(6, N)`` normalised targets (:class:`LoadCurveTargets`).
        rows: ``(N,)`` the heights' crop rows over the crop side.
        top, bottom: the kept shares.

    Returns:
        ``(image, curves, rows)`` of the cut spine, same shapes.
    """
    if not 0.0 <= top < bottom <= 1.0:
        raise ValueError(f"need 0 <= top < bottom <= 1, got top {top}, bottom {bottom}.")
    size, n = image.shape[-1], curves.shape[-1]
    index = np.linspace(top * (n - 1), bottom * (n - 1), n)
    values = np.asarray(torch.as_tensor(curves, dtype=torch.float32).cpu())
    kept = np.stack([np.interp(index, np.arange(n), curve) for curve in values]).astype(np.float32)
    kept_rows = np.interp(index, np.arange(n), np.asarray(torch.as_tensor(rows).cpu())).astype(np.float32) * size
    kept[CORONAL_CURVES:] -= kept[CORONAL_CURVES].mean()
    image = torch.as_tensor(image, dtype=torch.float32).clone()
    pixel_rows = torch.arange(size, dtype=torch.float32)
    if top > 0.0:
        image[..., pixel_rows < float(kept_rows[0])] = 0.0
    if bottom < 1.0:
        image[..., pixel_rows > float(kept_rows[-1])] = 0.0
    centre = (size - 1) / 2
    shift = (centre - size * (kept[0, 0] + kept[0, -1]) / 2, centre - (kept_rows[0] + kept_rows[-1]) / 2)
    image, moved = jitter_crop(image, torch.from_numpy(kept), shift, 1.0)
    return image, moved, torch.from_numpy(kept_rows + np.float32(shift[1])) / size


class RandCurveFieldOfViewd(RandomizableTransform, MapTransform):
    """A random field of view that cuts the spine (:func:`cut_curve_field_of_view`), so that the regressor learns a
    lumbar-only or a chest-only DXA as what it is and not as a whole spine's profile.

    The kept share of the spine is drawn uniformly in ``keep_range``; the cut is at the top (a lumbar image), at
    the bottom (a chest image) or at both ends, each with probability 1/3.

    It keeps the crop's pixel size, as a bundle with a fixed ``crop_pixel_mm`` crops a cut spine. For a bundle whose
    crop follows the spine's length (``crop_spine_fill``) leave it out and cut the studies before they are cropped
    (``monai-spine cohort --targets-from-truth --cut-fields K``, ``docs/cohort.md``).

    Args:
        image_key: the crop ``(C, S, S)``.
        curves_key: its ``(6, N)`` targets.
        rows_key: the heights' crop rows ``(N,)`` (:class:`LoadCurveTargetsd` with ``rows_key``).
        keep_range: ``(low, high)`` shares of the spine kept, ``0 < low ≤ high ≤ 1``.
        prob: probability of a cut.
    """

    def __init__(self, image_key: str = "image", curves_key: str = "label", rows_key: str = "rows",
                 keep_range: tuple[float, float] = (0.3, 0.9), prob: float = 0.3,
                 allow_missing_keys: bool = False) -> None:
        MapTransform.__init__(self, [image_key, curves_key, rows_key], allow_missing_keys)
        RandomizableTransform.__init__(self, prob)
        if not 0.0 < keep_range[0] <= keep_range[1] <= 1.0:
            raise ValueError(f"keep_range must satisfy 0 < low <= high <= 1, got {keep_range}.")
        self.image_key, self.curves_key, self.rows_key = image_key, curves_key, rows_key
        self.keep_range = keep_range
        self._kept = (0.0, 1.0)

    def randomize(self, data=None) -> None:
        super().randomize(None)
        if self._do_transform:
            share = self.R.uniform(*self.keep_range)
            end = self.R.randint(3)  # 0: cut at the top, 1: at the bottom, 2: at both
            top = (1.0 - share, 0.0, self.R.uniform(0.0, 1.0 - share))[end]
            self._kept = (float(top), float(min(top + share, 1.0)))

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        self.randomize()
        if self._do_transform:
            image, curves, rows = (d[k] for k in (self.image_key, self.curves_key, self.rows_key))
            d[self.image_key], d[self.curves_key], d[self.rows_key] = cut_curve_field_of_view(image, curves, rows,
                                                                                        *self._kept)
        return d


def cut_curve_field_width(image: torch.Tensor, left: float, right: float) -> torch.Tensor:
    """The crop of an image whose field of view is narrower than the crop: the crop columns ``u`` outside ``[left,
    right]`` (crop pixels) are background (0, as outside an image, :func:`jitter_crop`). The targets do not change:
    the spine is inside the kept columns.

    Args:
        image: ``(C, S, S)``, axis 1 the crop columns ``u``, axis 2 the rows ``v``.
        left, right: the first and last kept column, ``left < right``.
    """
    if not left < right:
        raise ValueError(f"need left < right, got left {left}, right {right}.")
    image = torch.as_tensor(image, dtype=torch.float32).clone()
    columns = torch.arange(image.shape[1], dtype=torch.float32)
    image[:, (columns < left) | (columns > right)] = 0.0
    return image


class RandCurveFieldWidthd(RandomizableTransform, MapTransform):
    """A random left–right field of view narrower than the crop (:func:`cut_curve_field_width`): a clinical lumbar
    DXA scans a band about 100–250 mm wide around the spine, a whole-body DXA or a phantom study the whole body,
    so that the regressor does not read the field's edges as anatomy.

    The field's width is drawn uniformly in ``width_mm`` and widened where needed to hold the spine's right and left
    boundaries plus ``margin_mm`` on each side; the spine's place across the field is drawn uniformly in what is left.

    Args:
        image_key: the crop ``(C, S, S)``.
        curves_key: its ``(6, N)`` targets (coronal values ``u / S``).
        width_mm: ``(low, high)`` field widths, mm.
        pixel_mm: the crop's pixel size, mm (the bundle's ``crop_pixel_mm``).
        margin_mm: least distance from a spine boundary to the field's edge, mm.
        prob: probability of a narrower field.
    """

    def __init__(self, image_key: str = "image", curves_key: str = "label",
                 width_mm: tuple[float, float] = (100.0, 360.0), pixel_mm: float = 3.2, margin_mm: float = 10.0,
                 prob: float = 0.3, allow_missing_keys: bool = False) -> None:
        MapTransform.__init__(self, [image_key, curves_key], allow_missing_keys)
        RandomizableTransform.__init__(self, prob)
        if not 0.0 < width_mm[0] <= width_mm[1]:
            raise ValueError(f"width_mm must satisfy 0 < low <= high, got {width_mm}.")
        self.image_key, self.curves_key = image_key, curves_key
        self.width_mm, self.pixel_mm, self.margin_mm = width_mm, pixel_mm, margin_mm
        self._width_mm, self._place = width_mm[1], 0.5

    def randomize(self, data=None) -> None:
        super().randomize(None)
        if self._do_transform:
            self._width_mm = float(self.R.uniform(*self.width_mm))
            self._place = float(self.R.uniform(0.0, 1.0))

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        self.randomize()
        if self._do_transform:
            image, curves = d[self.image_key], torch.as_tensor(d[self.curves_key])
            size, margin = image.shape[1], self.margin_mm / self.pixel_mm
            spine_right, spine_left = float(curves[1].min()) * size - margin, float(curves[2].max()) * size + margin
            width = max(self._width_mm / self.pixel_mm, spine_left - spine_right)
            left = spine_right - self._place * (width - (spine_left - spine_right))
            d[self.image_key] = cut_curve_field_width(image, left, left + width)
        return d


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


LoadCurveTargetsD = LoadCurveTargetsDict = LoadCurveTargetsd
RandCurveCropJitterD = RandCurveCropJitterDict = RandCurveCropJitterd
SaveCurveValuesD = SaveCurveValuesDict = SaveCurveValuesd
RandCurveFieldOfViewD = RandCurveFieldOfViewDict = RandCurveFieldOfViewd
RandCurveFieldWidthD = RandCurveFieldWidthDict = RandCurveFieldWidthd
