"""2D images for alignment: numpy ``(W, H)`` arrays ↔ SimpleITK images, and the MRI's coronal projection.

A 2D image here is a SimpleITK image in a **coronal image frame** (``docs/frames.md``): index 0 along columns
(x, toward the patient's left), index 1 along rows (z, toward the feet), origin ``(0, 0)`` at the centre of the
first pixel, identity direction, spacing in mm; so its physical points are the frame's ``(x, z)`` mm.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

__all__ = ["to_image", "to_array", "crop_to_mask", "coronal_projection", "coronal_mask_projection"]


def to_image(array, spacing) -> sitk.Image:
    """A ``(W, H)`` array (column, row) with ``spacing`` ``(column, row)`` mm → 2D SimpleITK image, origin 0.

    A bool array becomes a uint8 mask image.
    """
    array = np.asarray(array)
    image = sitk.GetImageFromArray(np.ascontiguousarray((array.astype(np.uint8) if array.dtype == bool else array).T))
    image.SetSpacing([float(s) for s in spacing])
    return image


def to_array(image: sitk.Image) -> np.ndarray:
    """A 2D SimpleITK image → ``(W, H)`` array (column, row)."""
    return sitk.GetArrayFromImage(image).T


def crop_to_mask(mask: sitk.Image, margin_mm: float) -> sitk.Image:
    """A 2D mask cropped to its foreground's box widened by ``margin_mm`` (within the image); the frame is kept."""
    box = sitk.LabelShapeStatisticsImageFilter()
    box.Execute(mask > 0)
    x, z, w, h = box.GetBoundingBox(1)
    margin = np.ceil(margin_mm / np.asarray(mask.GetSpacing())).astype(int)
    low = np.maximum(np.array([x, z]) - margin, 0)
    high = np.minimum(np.array([x + w, z + h]) + margin, np.asarray(mask.GetSize()))
    return sitk.RegionOfInterest(mask, (high - low).tolist(), low.tolist())


def coronal_projection(volume, spacing, pixel_mm, reduce: str = "mean") -> sitk.Image:
    """The coronal projection of a volume in the patient volume frame, resampled to ``pixel_mm``.

    Args:
        volume: ``(X, Y, Z)`` array, axes toward the left, anterior, the feet (``LoadVolume``'s ``LAI``).
        spacing: ``(sx, sy, sz)`` voxel spacing, mm.
        pixel_mm: ``(column, row)`` pixel spacing of the result, mm (the DXA's, so both images share a scale).
        reduce: ``"mean"`` or ``"max"`` along y (anterior).

    Returns:
        float32 image in the **MRI coronal frame** (``(x, z)`` = voxel index × spacing): linear resampling of the
        ``(X, Z)`` projection onto ``pixel_mm`` pixels covering voxel centre 0 to the last one.
    """
    if reduce not in ("mean", "max"):
        raise ValueError(f"reduce must be 'mean' or 'max', got {reduce!r}.")
    volume = np.asarray(volume, dtype=np.float32)
    projection = to_image(volume.mean(axis=1) if reduce == "mean" else volume.max(axis=1), (spacing[0], spacing[2]))
    extent = (np.asarray(volume.shape)[[0, 2]] - 1) * np.asarray(projection.GetSpacing())
    size = [int(n) for n in np.floor(extent / np.asarray(pixel_mm, dtype=float) + 1e-6) + 1]
    return sitk.Resample(projection, size, sitk.Transform(), sitk.sitkLinear, (0.0, 0.0),
                         [float(p) for p in pixel_mm], projection.GetDirection(), 0.0, sitk.sitkFloat32)


def coronal_mask_projection(mask, spacing, pixel_mm) -> sitk.Image:
    """The coronal projection of a 3D mask: foreground where any voxel along y is, as ``pixel_mm`` pixels.

    The ``(X, Z)`` projection is resampled linearly and kept at ≥ 0.5, so its edges lie where the voxel
    grid's edges are, within a pixel. Returns a uint8 image in the **MRI coronal frame**.
    """
    fraction = coronal_projection(np.asarray(mask) > 0, spacing, pixel_mm, reduce="max")
    return sitk.Cast(fraction >= 0.5, sitk.sitkUInt8)
