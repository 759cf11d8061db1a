"""The regressor's input: the DXA resampled on the 224 × 224 crop frame around the spine (``docs/frames.md``)."""

from __future__ import annotations

import os

import nibabel as nib
import numpy as np
from monai.data.utils import affine_to_spacing
from scipy import ndimage

from monai_spine.geometry import CropFrame

__all__ = ["CROP_PIXEL_MM", "crop_image", "spine_outside_crop", "save_crop"]

CROP_PIXEL_MM = 3.2
"""Default crop pixel size, mm. The crop spans 224 × 3.2 = 717 mm, centred halfway between the spine's ends: a
C2–S1 column (the curves' span, ``docs/frames.md``) of up to about 690 mm fits with 13 mm to spare at each end; a
longer one is rejected at the crop stage with a message that asks for a larger crop pixel size. The lumbar curve's
sideways excursion is far inside the ±358 mm. A vertebral body (15–30 mm tall) still spans 5–9
crop pixels, and the regressor's curves are sub-pixel values anyway."""


def crop_image(image, frame: CropFrame) -> np.ndarray:
    """Resample a coronal image on a crop frame.

    The image is first smoothed against aliasing (Gaussian, σ = (crop pixel / image pixel − 1) / 2 image pixels
    per axis, none when the crop pixels are not larger), then sampled linearly at the crop pixel centres;
    outside the image the crop is 0 (the background of a DXA bone image).

    Args:
        image: ``(1, W, H)`` ``MetaTensor`` as ``LoadRadiograph`` gives it (coronal image frame, affine 3×3).
        frame: the crop frame, its centre in the image's mm.

    Returns:
        float32 ``(size, size)``: axis 0 the crop columns ``u``, axis 1 the crop rows ``v``.
    """
    spacing = affine_to_spacing(image.affine, r=2).numpy()
    pixels = np.asarray(image[0], dtype=np.float32)
    sigma = np.maximum(frame.pixel_mm / spacing - 1.0, 0.0) / 2.0
    if np.any(sigma > 0):
        pixels = ndimage.gaussian_filter(pixels, sigma)
    u, v = np.meshgrid(np.arange(frame.size), np.arange(frame.size), indexing="ij")
    index = frame.to_mm(np.stack([u, v], axis=-1)) / spacing
    return ndimage.map_coordinates(pixels, np.moveaxis(index, -1, 0), order=1, mode="constant", cval=0.0)


def spine_outside_crop(points_px, frame: CropFrame) -> float:
    """How far, in crop pixels, points ``(..., 2)`` of ``(u, v)`` reach beyond the crop's outer pixel centres
    (``[0, size − 1]`` on both axes); 0 when all are inside."""
    points_px = np.asarray(points_px, dtype=np.float64)
    return float(max(0.0, -points_px.min(), points_px.max() - (frame.size - 1)))


def save_crop(path: str | os.PathLike, crop: np.ndarray, frame: CropFrame) -> None:
    """Write a crop as 2D NIfTI (``docs/cohort.md``): axis 0 along columns, axis 1 along rows, the crop pixel
    size in the header (affine ``diag(s, s, 1, 1)``; the crop's place in the DXA is in ``targets.json``)."""
    affine = np.diag([frame.pixel_mm, frame.pixel_mm, 1.0, 1.0])
    nib.save(nib.Nifti1Image(np.asarray(crop, dtype=np.float32), affine), path)
