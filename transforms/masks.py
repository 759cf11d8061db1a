"""Spine masks after inference: back on the input file's voxel grid, and checked before they are written."""

from __future__ import annotations

import os
import warnings
from collections.abc import Hashable, Mapping

import nibabel as nib
import numpy as np
import torch
from monai.config import KeysCollection
from monai.data import MetaTensor
from monai.data.utils import affine_to_spacing
from monai.transforms import MapTransform, Orientation, Transform
from monai.utils import TransformBackends
from scipy import ndimage

from .io import RAS_LABELS

__all__ = [
    "FileOrientation",
    "FileOrientationd",
    "FileOrientationD",
    "FileOrientationDict",
    "CheckSpineMask",
    "CheckSpineMaskd",
    "CheckSpineMaskD",
    "CheckSpineMaskDict",
    "CloseSpineGaps",
    "CloseSpineGapsd",
    "CloseSpineGapsD",
    "CloseSpineGapsDict",
]


class FileOrientation(Transform):
    """Reorient a volume to the axis order and directions of the file it was loaded from.

    :class:`~monai_spine.transforms.LoadVolume` puts volumes in the patient frame (LAI); a mask predicted there
    is put back on the file's voxel grid (same shape, spacing and affine as the input, so viewers overlay it
    exactly) with MONAI ``Orientation`` to the axis codes of ``meta["original_affine"]``.

    Input and output: ``MetaTensor`` ``(C, X, Y, Z)`` with ``original_affine`` in its meta.
    """

    backend = Orientation.backend

    def __call__(self, img: MetaTensor) -> MetaTensor:
        if not isinstance(img, MetaTensor) or "original_affine" not in img.meta:
            raise ValueError("FileOrientation needs a MetaTensor with meta['original_affine'] (from LoadVolume).")
        codes = "".join(nib.aff2axcodes(np.asarray(img.meta["original_affine"], dtype=float), labels=RAS_LABELS))
        return Orientation(axcodes=codes, labels=RAS_LABELS)(img)


class FileOrientationd(MapTransform):
    """Dictionary form of :class:`FileOrientation`."""

    backend = FileOrientation.backend

    def __init__(self, keys: KeysCollection, allow_missing_keys: bool = False) -> None:
        super().__init__(keys, allow_missing_keys)
        self.reorient = FileOrientation()

    def __call__(self, data: Mapping[Hashable, MetaTensor]) -> dict[Hashable, MetaTensor]:
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self.reorient(d[key])
        return d


class CheckSpineMask(Transform):
    """Flag a predicted spine mask that cannot be a spine: empty, on an image larger than ``max_extent_mm`` at its
    pixel size, shorter than ``min_length_mm``, or with a median width outside ``width_range_mm``.

    The mask passes unchanged (an empty mask is a valid answer for an image without a spine); the problem is
    emitted as one ``UserWarning`` naming the input file and appended to ``meta["qc_warnings"]``, so that
    writers and reports can carry it.

    Args:
        min_length_mm: least extent along the last spatial axis (rows of a coronal image, slices of a volume in
            the patient frame; the head–feet axis) of a plausible spine, mm. The default, 100 mm, is about three
            lumbar vertebrae: less spine than that gives no usable curve, and false positives on images without a
            spine stay shorter.
        max_extent_mm: largest plausible image, mm, along the first spatial axis (left–right) and along the
            last (head–feet): a whole-body DXA is about 650 × 2000 mm; an image larger than that at its pixel size
            (a chest radiograph of 0.17 mm pixels read at 1 mm) has a wrong pixel size, and its mask is flagged
            whatever its shape.
        width_range_mm: plausible median width of the column, mm, along the first spatial axis (left–right) over
            the rows (slices) it occupies. Vertebral bodies are 24 (C7) to 50 mm (L5) wide
            (``docs/phantom_anatomy.md``); a mask far outside (15, 90) mm says the pixel size is wrong (a
            radiograph whose spacing tag is missing or 0, read at 1 mm per pixel, shows the spine several times
            too wide) or the mask is not a spine.
    """

    backend = [TransformBackends.TORCH]

    def __init__(self, min_length_mm: float = 100.0, width_range_mm: tuple[float, float] = (15.0, 90.0),
                 max_extent_mm: tuple[float, float] = (800.0, 2200.0)) -> None:
        self.min_length_mm = min_length_mm
        self.width_range_mm = width_range_mm
        self.max_extent_mm = max_extent_mm

    def _width_mm(self, mask: torch.Tensor, spacing: float) -> float:
        """Median left–right extent of the mask's occupied rows (slices), mm."""
        columns = mask[0].reshape(mask.shape[1], -1, mask.shape[-1]).bool().any(dim=1)  # (W, rows)
        occupied = columns.any(dim=0)
        index = torch.arange(columns.shape[0], device=mask.device)[:, None]
        first = torch.where(columns, index, columns.shape[0]).amin(dim=0)[occupied]
        last = torch.where(columns, index, -1).amax(dim=0)[occupied]
        return float((last - first + 1).float().median()) * spacing

    def __call__(self, mask: torch.Tensor) -> torch.Tensor:
        rows = torch.nonzero(mask.reshape(-1, mask.shape[-1]).any(dim=0)).flatten()
        problem = None
        if rows.numel() == 0:
            problem = "no spine found (empty mask)"
        elif isinstance(mask, MetaTensor):
            across_mm, along_mm = (float(s) for s in affine_to_spacing(mask.affine, r=mask.ndim - 1)[[0, -1]])
            length = float(rows[-1] - rows[0] + 1) * along_mm
            low, high = self.width_range_mm
            extent = (mask.shape[1] * across_mm, mask.shape[-1] * along_mm)
            if extent[0] > self.max_extent_mm[0] or extent[1] > self.max_extent_mm[1]:
                problem = (f"image {extent[0]:.0f} × {extent[1]:.0f} mm at its pixel size, larger than any "
                           f"{self.max_extent_mm[0]:g} × {self.max_extent_mm[1]:g} mm radiograph: wrong pixel size")
            elif length < self.min_length_mm:
                problem = f"spine mask only {length:.0f} mm long (< {self.min_length_mm:g} mm): likely no spine"
            elif not low <= (width := self._width_mm(mask, across_mm)) <= high:
                problem = (f"spine mask {width:.0f} mm wide (a spine is {low:g}–{high:g} mm): wrong pixel size or "
                           "not a spine")
        if problem is not None:
            name = mask.meta.get("filename_or_obj", "image") if isinstance(mask, MetaTensor) else "image"
            warnings.warn(f"{os.fspath(name)}: {problem}", stacklevel=2)
            if isinstance(mask, MetaTensor):
                mask.meta["qc_warnings"] = [*mask.meta.get("qc_warnings", []), problem]
        return mask


class CheckSpineMaskd(MapTransform):
    """Dictionary form of :class:`CheckSpineMask`."""

    backend = CheckSpineMask.backend

    def __init__(self, keys: KeysCollection, min_length_mm: float = 100.0,
                 width_range_mm: tuple[float, float] = (15.0, 90.0),
                 max_extent_mm: tuple[float, float] = (800.0, 2200.0), allow_missing_keys: bool = False) -> None:
        super().__init__(keys, allow_missing_keys)
        self.check = CheckSpineMask(min_length_mm, width_range_mm, max_extent_mm)

    def __call__(self, data: Mapping[Hashable, torch.Tensor]) -> dict[Hashable, torch.Tensor]:
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self.check(d[key])
        return d


class CloseSpineGaps(Transform):
    """Fill a spine mask's gaps along the head–feet axis (the last spatial axis) up to ``max_gap_mm`` long.

    The spinal column (bodies and discs) is continuous from head to feet; a network that segments slice by slice
    can miss a slice or two of it, often at a disc, which splits the mask or leaves a notch. A binary closing with
    a line of ``n + 1`` voxels along the last axis (``scipy.ndimage.binary_closing``), ``n = floor(max_gap_mm /
    spacing)``, fills every gap of up to ``n`` voxels between mask voxels above and below; nothing else is added,
    and no voxel of the mask is removed. A ``max_gap_mm`` under one voxel leaves the mask as it is.

    Input and output: ``(C, ..., Z)`` binary mask (``MetaTensor`` for its spacing; plain tensors are taken as
    1 mm), the same type and shape.

    Args:
        max_gap_mm: the longest gap to fill, mm. The default, 6 mm, is two slices of a 3 mm MRI and shorter than
            a lumbar disc is tall, so a gap the network left at one disc closes and two levels do not fuse across
            a missing vertebra. 0 leaves every mask as it is (the DXA bundle's setting).
    """

    backend = [TransformBackends.NUMPY]

    def __init__(self, max_gap_mm: float = 6.0) -> None:
        if not max_gap_mm >= 0:
            raise ValueError(f"max_gap_mm must be 0 or more, got {max_gap_mm}.")
        self.max_gap_mm = max_gap_mm

    def __call__(self, mask: torch.Tensor) -> torch.Tensor:
        spacing = float(affine_to_spacing(mask.affine, r=mask.ndim - 1)[-1]) if isinstance(mask, MetaTensor) else 1.0
        gap = int(self.max_gap_mm // spacing)
        if gap < 1:
            return mask
        line = np.ones((1,) * (mask.ndim - 2) + (gap + 1,), dtype=bool)
        voxels = np.asarray(mask.detach().cpu()) > 0
        box = ndimage.find_objects(voxels.astype(np.uint8))  # the closing adds nothing outside the mask's box
        if not box:
            return mask
        box = (slice(None), *box[0][1:])
        voxels[box] |= np.stack([ndimage.binary_closing(channel, line) for channel in voxels[box]])
        out = mask.clone()
        out[:] = torch.as_tensor(voxels, dtype=mask.dtype, device=mask.device)
        return out


class CloseSpineGapsd(MapTransform):
    """Dictionary form of :class:`CloseSpineGaps`."""

    backend = CloseSpineGaps.backend

    def __init__(self, keys: KeysCollection, max_gap_mm: float = 6.0, allow_missing_keys: bool = False) -> None:
        super().__init__(keys, allow_missing_keys)
        self.close = CloseSpineGaps(max_gap_mm)

    def __call__(self, data: Mapping[Hashable, torch.Tensor]) -> dict[Hashable, torch.Tensor]:
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self.close(d[key])
        return d


FileOrientationD = FileOrientationDict = FileOrientationd
CheckSpineMaskD = CheckSpineMaskDict = CheckSpineMaskd
CloseSpineGapsD = CloseSpineGapsDict = CloseSpineGapsd
