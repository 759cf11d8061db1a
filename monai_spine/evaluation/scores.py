"""The figures ``monai-spine evaluate`` reports, each from arrays against known truth (``docs/commands/evaluate.md``).

Frames and units are those of ``docs/frames.md``: a 2D mask is ``(W, H)`` (column, row) in the coronal image
frame, curves are ``(N, 2)`` ``(x, z)`` mm in that frame, alignment matrices map the MRI coronal frame to the DXA
frame (``alignment.json``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from monai.metrics import compute_dice

from monai_spine.geometry import SpineCurves
from monai_spine.geometry.extract import BoundaryCurves, curves_from_mask
from monai_spine.projection import Projection
from monai_spine.projection.reconstruction import curves_3d
from monai_spine.registration import apply_matrix, rotation_deg
from monai_spine.segmentation import centre_line_error_mm

__all__ = [
    "CentroidContainment",
    "CoronalLineErrors",
    "MaskReach",
    "AlignmentErrors",
    "dice",
    "centroid_pixels",
    "centroid_containment",
    "coronal_line_errors",
    "mask_reach",
    "alignment_errors",
    "biplanar_truth_curves",
]

_VIEW_TRUTH = {"ap": ("coronal_centre", "coronal_right", "coronal_left"),
               "lateral": ("sagittal_centre", "sagittal_posterior", "sagittal_anterior")}


def dice(pred, truth) -> float:
    """Dice overlap of two binary masks of one shape (any dimension; foreground ``> 0``), MONAI's ``compute_dice``.

    Both empty gives 1 (the masks agree), one empty gives 0.
    """
    pred, truth = (torch.as_tensor(np.asarray(m) > 0)[None, None] for m in (pred, truth))
    if pred.shape != truth.shape:
        raise ValueError(f"mask shapes differ: {tuple(pred.shape[2:])} and {tuple(truth.shape[2:])}.")
    return float(compute_dice(pred, truth, include_background=True, ignore_empty=False).item())


def centroid_pixels(centres_xz_mm, origin_mm, pixel_mm) -> np.ndarray:
    """Phantom-frame ``(N, 2)`` ``(x, z)`` mm → the nearest DXA pixel ``(column, row)``, ``(N, 2)`` int.

    ``origin_mm`` is the phantom-frame ``(x, z)`` of the centre of pixel ``(0, 0)`` and ``pixel_mm`` the
    ``(column, row)`` spacing: ``truth.json``'s ``frames.dxa``.
    """
    pixels = (np.asarray(centres_xz_mm, dtype=np.float64) - np.asarray(origin_mm)) / np.asarray(pixel_mm)
    return np.rint(pixels).astype(int).reshape(-1, 2)


class CentroidContainment(NamedTuple):
    """Which labelled vertebral centroids lie in a spine mask.

    Attributes:
        inside: ``{level name: bool}`` in the order given; a centroid outside the image counts as outside.
    """

    inside: dict[str, bool]

    @property
    def n_inside(self) -> int:
        return sum(self.inside.values())

    @property
    def missed(self) -> list[str]:
        return [name for name, found in self.inside.items() if not found]


def centroid_containment(mask, names, pixels) -> CentroidContainment:
    """Whether each vertebra's centroid pixel is foreground of ``mask``.

    Args:
        mask: ``(W, H)`` spine mask; foreground ``> 0``.
        names: the vertebrae's level names (``"T12"``, ``"L1"``, ...).
        pixels: ``(N, 2)`` int ``(column, row)`` of their centroids (:func:`centroid_pixels`).
    """
    mask = np.asarray(mask) > 0
    pixels = np.asarray(pixels, dtype=int).reshape(-1, 2)
    within = np.all((pixels >= 0) & (pixels < mask.shape), axis=1)
    found = np.zeros(len(pixels), dtype=bool)
    found[within] = mask[pixels[within, 0], pixels[within, 1]]
    return CentroidContainment(dict(zip(names, found.tolist())))


class CoronalLineErrors(NamedTuple):
    """A predicted spine mask's coronal curves against the truth's, over the heights both cover.

    Attributes:
        centre_mae_mm: mean ``|Δx|`` of the centre lines at the truth's heights inside the prediction's z-range.
        width_error_mm: mean (predicted − true) width (left − right boundary) at those heights; > 0: too wide.
        height_coverage: share of the truth's height (z extent) inside the prediction's z-range, 0–1.
    """

    centre_mae_mm: float
    width_error_mm: float
    height_coverage: float


def coronal_line_errors(mask, spacing, truth_right, truth_left) -> CoronalLineErrors:
    """Centre-line and width errors of a coronal spine mask over the z-range shared with the truth.

    The mask's curves come from :func:`~monai_spine.geometry.extract.curves_from_mask` (its spine component);
    the truth's centre is the midpoint of its boundaries. Only the truth's points whose height lies within the
    prediction's top and bottom are compared, so a spine found too short is not scored where it is missing: that
    shows in ``height_coverage`` (and in centroid containment).

    Args:
        mask: ``(W, H)`` predicted spine mask; foreground ``> 0``.
        spacing: ``(column, row)`` pixel spacing, mm.
        truth_right, truth_left: ``(N, 2)`` ``(x, z)`` mm, the true right and left boundaries at equal heights
            (``truth.json``'s ``curves.dxa.coronal_right`` / ``coronal_left``).

    Raises:
        ValueError: the mask is empty, or covers none of the truth's heights.
    """
    right, left = (np.asarray(c, dtype=np.float64) for c in (truth_right, truth_left))
    pred = curves_from_mask(np.asarray(mask), spacing)
    z = right[:, 1]
    shared = (z >= pred.centre[0, 1]) & (z <= pred.centre[-1, 1])
    if not shared.any():
        raise ValueError("the predicted spine covers none of the true spine's heights.")
    truth_centre = np.stack([(right[:, 0] + left[:, 0]) / 2, z], axis=1)[shared]
    width = np.interp(z[shared], pred.centre[:, 1], pred.high[:, 0] - pred.low[:, 0])
    overlap = min(z.max(), pred.centre[-1, 1]) - max(z.min(), pred.centre[0, 1])
    return CoronalLineErrors(
        centre_mae_mm=centre_line_error_mm(pred.centre, truth_centre),
        width_error_mm=float(np.mean(width - (left[shared, 0] - right[shared, 0]))),
        height_coverage=float(np.clip(overlap / np.ptp(z), 0.0, 1.0)),
    )


class MaskReach(NamedTuple):
    """How far a spine mask reaches along the true one, row by row (rows: the head–feet axis).

    Attributes:
        rows_reached: share of the true mask's rows on which the mask has a pixel, 0–1.
        lower_rows_reached: the same over the lower half of the true mask's rows (toward the feet), where a mask
            that stops above the lumbosacral junction shows.
        width_ratio: median over the rows both masks have of the mask's width over the true one's (pixels in the
            row); below 1 the mask is narrower. NaN when they share no row.
    """

    rows_reached: float
    lower_rows_reached: float
    width_ratio: float


def mask_reach(mask, truth) -> MaskReach:
    """:class:`MaskReach` of a spine mask ``(W, H)`` against the true one on the same grid (foreground ``> 0``; rows
    are the second axis, top first).

    Raises:
        ValueError: the shapes differ, or the true mask is empty.
    """
    mask, truth = np.asarray(mask) > 0, np.asarray(truth) > 0
    if mask.shape != truth.shape:
        raise ValueError(f"mask shapes differ: {mask.shape} and {truth.shape}.")
    rows = np.flatnonzero(truth.any(0))
    if not len(rows):
        raise ValueError("the true mask is empty.")
    reached = mask[:, rows].any(0)
    shared = rows[reached]
    ratio = float(np.median(mask[:, shared].sum(0) / truth[:, shared].sum(0))) if len(shared) else float("nan")
    return MaskReach(float(reached.mean()), float(reached[len(rows) // 2:].mean()), ratio)


class AlignmentErrors(NamedTuple):
    """An alignment's matrix against the true one.

    Attributes:
        rotation_error_deg: ``|rotation − true rotation|``, degrees.
        translation_error_mm: distance between where the two matrices put the MRI spine's centroid, mm (the
            translation error where the spine is; rotation adds to it away from the spine).
        along_spine_error_mm, across_spine_error_mm: that distance's parts along the DXA's rows (head–feet,
            along a spine that runs down the image: a pose slid along the column) and across them (left–right),
            ``|Δz|`` and ``|Δx|``, mm.
    """

    rotation_error_deg: float
    translation_error_mm: float
    along_spine_error_mm: float
    across_spine_error_mm: float


def alignment_errors(matrix, truth, centre_mm) -> AlignmentErrors:
    """Errors of an MRI → DXA matrix at a point of the MRI coronal frame.

    Args:
        matrix, truth: 3×3 MRI coronal frame → DXA frame matrices (found, true).
        centre_mm: ``(x, z)`` mm in the MRI coronal frame, the MRI spine's centroid.
    """
    centre = np.asarray(centre_mm, dtype=np.float64).reshape(1, 2)
    shift = apply_matrix(matrix, centre) - apply_matrix(truth, centre)
    across, along = (abs(float(v)) for v in shift[0])
    return AlignmentErrors(abs(rotation_deg(matrix) - rotation_deg(truth)), float(np.linalg.norm(shift)), along,
                           across)


def biplanar_truth_curves(truth: dict, geometries) -> SpineCurves:
    """The six true curves of a study with AP and lateral views, in the patient frame of ``geometries`` (AP,
    lateral: what the route used).

    ``truth.json``'s three curves per view (image mm) are reconstructed as the route's are (``curves_3d``) with the
    true geometries (``frames``), then moved by the difference of the isocentres: geometries read from DICOM tags
    differ from the true ones by that translation alone (the files do not say where the isocentre is). A parallel
    geometry has no isocentre: no move, the comparison is then as nominal as its depth scale.
    """
    frames = [Projection.from_dict(truth["frames"][view]) for view in ("ap", "lateral")]
    views = [BoundaryCurves(*(frame.mm_to_pixel(truth["curves"][view][name]) for name in _VIEW_TRUTH[view]))
             for frame, view in zip(frames, ("ap", "lateral"))]
    curves, _ = curves_3d(frames[0], views[0], frames[1], views[1])
    move = np.zeros(3)
    if all(hasattr(g, "isocentre") for g in (geometries[0], frames[0])):
        move = np.subtract(geometries[0].isocentre, frames[0].isocentre)
    sx, sy, sz = move
    shift = np.array([[sx, sz]] * 3 + [[sy, sz]] * 3)[:, None, :]
    return SpineCurves.from_array(curves.to_array() + shift)
