"""Quality control of an alignment: mask overlap, and checks that the masks can be trusted to align."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from monai_spine.geometry import curves_from_mask

from .coronal import to_array
from .rigid import apply_matrix, to_sitk

__all__ = ["aligned_mask", "mask_iou", "centre_line_deviation", "touches_edge"]

DEVIATION_WINDOW_MM = 40.0
"""Length of the moving average over which :func:`centre_line_deviation` smooths, about two vertebrae."""


def aligned_mask(fixed_mask: sitk.Image, moving_mask: sitk.Image, matrix_mri_to_dxa) -> sitk.Image:
    """The MRI's projected mask mapped by ``matrix_mri_to_dxa`` onto the DXA mask's pixels (nearest neighbour)."""
    return sitk.Resample(moving_mask, fixed_mask, to_sitk(matrix_mri_to_dxa), sitk.sitkNearestNeighbor, 0,
                         sitk.sitkUInt8)


def mask_iou(fixed_mask: sitk.Image, moving_mask: sitk.Image, matrix_mri_to_dxa) -> float:
    """Intersection over union of the DXA mask and the MRI's projected mask mapped onto it, over the rows (DXA
    heights) both masks cover, 0–1.

    Only the common height counts, so a mask that stops earlier than the other (a segmentation that misses a
    vertebra, a shorter field of view) is judged on the stretch both show; masks that share no row score 0. The
    MRI mask's part outside the DXA image is lost, which lowers the score as a spine outside the DXA should.
    """
    fixed = to_array(fixed_mask) > 0
    moving = to_array(aligned_mask(fixed_mask, moving_mask, matrix_mri_to_dxa)) > 0
    common = fixed.any(axis=0) & moving.any(axis=0)
    fixed, moving = fixed[:, common], moving[:, common]
    union = np.count_nonzero(fixed | moving)
    return float(np.count_nonzero(fixed & moving) / union) if union else 0.0


def centre_line_deviation(fixed_mask: sitk.Image, moving_mask: sitk.Image, matrix_mri_to_dxa) -> float:
    """The largest lateral distance between the two spines' centre lines once aligned, mm.

    Each mask's coronal centre line is taken in its own frame (:func:`~monai_spine.geometry.curves_from_mask`,
    partial end rows dropped), the MRI's is mapped by ``matrix_mri_to_dxa``, and their x difference at the same
    heights is averaged over :data:`DEVIATION_WINDOW_MM` (which removes the masks' pixel noise, about ±1 mm per
    row, and keeps a bend). The largest absolute value over the common height, less half a window at each end,
    is returned: about 1 mm or less for the same spine rigidly moved, more where a posture change bends one centre
    line against the other. ``nan`` when the spines share less height than one window.
    """
    fixed, moving = (curves_from_mask(to_array(mask), mask.GetSpacing(), min_width_fraction=0.7).centre
                     + np.asarray(mask.GetOrigin()) for mask in (fixed_mask, moving_mask))
    moving = apply_matrix(matrix_mri_to_dxa, moving)
    step = fixed_mask.GetSpacing()[1]
    half = 0.5 * DEVIATION_WINDOW_MM
    z = np.arange(max(fixed[0, 1], moving[0, 1]) + half, min(fixed[-1, 1], moving[-1, 1]) - half, step)
    if z.size == 0:
        return float("nan")
    difference = np.interp(z, fixed[:, 1], fixed[:, 0]) - np.interp(z, moving[:, 1], moving[:, 0])
    window = max(round(DEVIATION_WINDOW_MM / step), 1)
    return float(np.abs(ndimage.uniform_filter1d(difference, window, mode="nearest")).max())


def touches_edge(mask) -> bool:
    """Whether a ``(W, H)`` or ``(X, Y, Z)`` mask has foreground on the first or last index of its lateral axis
    (0) or its height axis (the last): a spine the field of view cuts off. Depth (y) is not checked, as the
    coronal projection does not lose it."""
    mask = np.asarray(mask) > 0
    return bool(mask[0].any() or mask[-1].any() or mask[..., 0].any() or mask[..., -1].any())
