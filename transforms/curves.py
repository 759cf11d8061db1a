"""MONAI transforms from spine masks to spine curves (``docs/frames.md``; rules in ``monai_spine.geometry.extract``).

Masks are channel-first with one channel: ``(1, W, H)`` for a coronal or lateral image, ``(1, X, Y, Z)`` for a
volume in the patient volume frame. Spacing comes from the transform's ``spacing`` argument or else from a
``MetaTensor``'s ``affine`` (MONAI's ``affine_to_spacing``, which stays true through resampling).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import torch
from monai.config import KeysCollection
from monai.data import MetaTensor
from monai.data.utils import affine_to_spacing
from monai.transforms import MapTransform, Transform
from monai.utils import TransformBackends, convert_to_numpy

from monai_spine.geometry.curves import N_POINTS
from monai_spine.geometry.extract import curves_from_mask, curves_from_volume

__all__ = [
    "MaskToCurves",
    "MaskToCentreLine",
    "MaskToCurvesd",
    "MaskToCurvesD",
    "MaskToCurvesDict",
    "MaskToCentreLined",
    "MaskToCentreLineD",
    "MaskToCentreLineDict",
]


def _mask_and_spacing(mask, spacing: Sequence[float] | None) -> tuple[np.ndarray, tuple[float, ...]]:
    """The spatial mask ``(W, H)`` or ``(X, Y, Z)`` as numpy, and its spacing in mm, one value per axis."""
    if mask.ndim not in (3, 4) or mask.shape[0] != 1:
        raise ValueError(f"expected a one-channel mask (1, W, H) or (1, X, Y, Z), got shape {tuple(mask.shape)}.")
    ndim = mask.ndim - 1
    if spacing is None and isinstance(mask, MetaTensor):
        spacing = convert_to_numpy(affine_to_spacing(mask.affine, r=ndim))
    if spacing is None:
        raise ValueError("the mask carries no spacing: pass a MetaTensor or give `spacing`.")
    spacing = tuple(float(s) for s in spacing)
    if len(spacing) != ndim:
        raise ValueError(f"expected {ndim} spacing values for a mask of shape {tuple(mask.shape)}, got {spacing}.")
    return convert_to_numpy(mask[0]), spacing


class MaskToCurves(Transform):
    """A spine mask → its curves in mm, as a ``float32`` tensor.

    - ``(1, W, H)`` (coronal or lateral image) → ``(3, n_points, 2)``: centre, low, high boundary
      (coronal: centre, right, left of ``(x, z)``; lateral: centre, posterior, anterior of ``(y, z)``), by
      :func:`~monai_spine.geometry.extract.curves_from_mask`.
    - ``(1, X, Y, Z)`` (patient volume frame) → ``(6, n_points, 2)`` in ``CURVE_NAMES`` order, by
      :func:`~monai_spine.geometry.extract.curves_from_volume`.

    Args:
        n_points: points per curve.
        max_gap_mm: the longest empty stretch along z, in mm, that does not split the spine.
        spacing: spacing in mm, one value per spatial axis; default: from the mask (module docstring).
    """

    backend = [TransformBackends.NUMPY]

    def __init__(self, n_points: int = N_POINTS, max_gap_mm: float = 10.0, spacing: Sequence[float] | None = None):
        self.n_points = n_points
        self.max_gap_mm = max_gap_mm
        self.spacing = spacing

    def __call__(self, mask) -> torch.Tensor:
        array, spacing = _mask_and_spacing(mask, self.spacing)
        if array.ndim == 2:
            curves = np.stack(curves_from_mask(array, spacing, self.n_points, self.max_gap_mm))
        else:
            curves = curves_from_volume(array, spacing, self.n_points, self.max_gap_mm).curves.to_array()
        return torch.as_tensor(curves, dtype=torch.float32)


class MaskToCentreLine(MaskToCurves):
    """A 3D spine mask ``(1, X, Y, Z)`` → its centroid line ``(n_points, 3)`` of ``(x, y, z)`` mm, ``float32``.

    Per axial slice the centroid of the spine's voxels, at the heights of :class:`MaskToCurves`'s curves
    (:func:`~monai_spine.geometry.extract.curves_from_volume`). Arguments as :class:`MaskToCurves`.
    """

    def __call__(self, mask) -> torch.Tensor:
        array, spacing = _mask_and_spacing(mask, self.spacing)
        if array.ndim != 3:
            raise ValueError(f"expected a 3D mask (1, X, Y, Z), got shape {tuple(mask.shape)}.")
        centre_line = curves_from_volume(array, spacing, self.n_points, self.max_gap_mm).centre_line
        return torch.as_tensor(centre_line, dtype=torch.float32)


class MaskToCurvesd(MapTransform):
    """Dictionary wrapper of :class:`MaskToCurves`: output in ``data[f"{key}_{output_postfix}"]``.

    Args:
        keys: keys of the masks.
        output_postfix: suffix of the output keys; default ``default_output_postfix`` (``"curves"``).
        n_points, max_gap_mm, spacing: as :class:`MaskToCurves`.
        allow_missing_keys: don't raise if a key is missing.
    """

    backend = MaskToCurves.backend
    converter_class: type[MaskToCurves] = MaskToCurves
    default_output_postfix = "curves"

    def __init__(
        self,
        keys: KeysCollection,
        output_postfix: str | None = None,
        n_points: int = N_POINTS,
        max_gap_mm: float = 10.0,
        spacing: Sequence[float] | None = None,
        allow_missing_keys: bool = False,
    ):
        super().__init__(keys, allow_missing_keys)
        self.output_postfix = self.default_output_postfix if output_postfix is None else output_postfix
        self.converter = self.converter_class(n_points, max_gap_mm, spacing)

    def __call__(self, data: Mapping[Hashable, object]) -> dict[Hashable, object]:
        d = dict(data)
        for key in self.key_iterator(d):
            d[f"{key}_{self.output_postfix}"] = self.converter(d[key])
        return d


class MaskToCentreLined(MaskToCurvesd):
    """Dictionary wrapper of :class:`MaskToCentreLine`: output in ``data[f"{key}_{output_postfix}"]``.

    Arguments as :class:`MaskToCurvesd`, with ``keys`` those of 3D masks and ``output_postfix`` by default
    ``"centre_line"``.
    """

    converter_class = MaskToCentreLine
    default_output_postfix = "centre_line"


MaskToCurvesD = MaskToCurvesDict = MaskToCurvesd
MaskToCentreLineD = MaskToCentreLineDict = MaskToCentreLined
