"""Truth curves of a synthetic study, from the fine spine-column mask and each image's exact forward model.

The rendered masks of a study come from the renderers (ray casting, resampling); the truth here takes another
road: every axial slice of a fine column mask is mapped point by point into the image (parallel projection,
cone or slot-scan beam, MRI pose), and its extreme points give that height's boundaries. Comparing the two
checks the renderers against geometry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch

from monai_spine.geometry import N_POINTS
from monai_spine.geometry.extract import BoundaryCurves
from monai_spine.geometry.grid import Grid

__all__ = ["SlicePoints", "slice_points", "projected_curves"]


class SlicePoints(NamedTuple):
    """In-plane corners of a mask's boundary voxels: ``points (P, 3)`` phantom-frame mm on each voxel's slice
    centre plane, and ``slices (P,)`` their z indices, in increasing order."""

    points: np.ndarray
    slices: np.ndarray


def slice_points(column: torch.Tensor, grid: Grid) -> SlicePoints:
    """The corners of every in-plane boundary voxel of a ``(X, Y, Z)`` mask, slice by slice.

    Only voxels with an empty 4-neighbour in their slice can hold a slice's extreme point in any projection,
    so interior voxels are left out; corners (not centres) make the extreme points the voxels' true edges.
    """
    padded = torch.nn.functional.pad(column[None].float(), (0, 0, 1, 1, 1, 1))[0] > 0
    interior = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    boundary = column & ~interior
    index = torch.nonzero(boundary.permute(2, 0, 1)).cpu().numpy()[:, [1, 2, 0]].astype(np.float64)  # by z
    corners = np.array([[-0.5, -0.5, 0.0], [-0.5, 0.5, 0.0], [0.5, -0.5, 0.0], [0.5, 0.5, 0.0]])
    points = grid.to_mm((index[:, None, :] + corners).reshape(-1, 3))
    return SlicePoints(points, np.repeat(index[:, 2].astype(int), len(corners)))


def projected_curves(
    column: SlicePoints,
    to_image_mm: Callable[[np.ndarray], np.ndarray],
    n_points: int = N_POINTS,
) -> BoundaryCurves:
    """The centre and boundary curves of a column mask as seen in an image.

    Args:
        column: :func:`slice_points` of the fine spine-column mask.
        to_image_mm: maps phantom-frame points ``(P, 3)`` to image-frame ``(lateral, height)`` mm ``(P, 2)``,
            e.g. a parallel projection or a projection geometry's ``project_mm``.
        n_points: points per curve, evenly spaced in height between the first and last slice's heights.

    Returns:
        :class:`~monai_spine.geometry.extract.BoundaryCurves` ``(centre, low, high)``, each ``(n_points, 2)``
        of ``(lateral, height)`` mm in the image frame; per slice, low and high are the extreme lateral
        positions and the height is the slice's mean projected height.
    """
    points, slices = column
    image = np.asarray(to_image_mm(points), dtype=np.float64)
    _, first = np.unique(slices, return_index=True)
    first = np.append(first, len(slices))
    low = np.minimum.reduceat(image[:, 0], first[:-1])
    high = np.maximum.reduceat(image[:, 0], first[:-1])
    height = np.add.reduceat(image[:, 1], first[:-1]) / np.diff(first)
    if np.any(np.diff(height) <= 0):
        raise ValueError("slice heights are not increasing in the image: the view is not upright.")
    heights = np.linspace(height[0], height[-1], n_points)
    low_i, high_i = np.interp(heights, height, low), np.interp(heights, height, high)
    pair = lambda values: np.stack([values, heights], axis=1)  # noqa: E731
    return BoundaryCurves(pair(0.5 * (low_i + high_i)), pair(low_i), pair(high_i))
