"""The regressor's six target curves of an aligned DXA ↔ MRI pair, in the DXA frame (``docs/cohort.md``).

The coronal curves are the DXA spine mask's; the sagittal ones are the MRI spine mask's, carried into the DXA
frame by the alignment. All six share the DXA spine's 209 heights. Frames: ``docs/frames.md``.
"""

from __future__ import annotations

import numpy as np
from monai.data.utils import affine_to_spacing

from monai_spine.geometry import (
    CURVE_NAMES,
    N_POINTS,
    CropFrame,
    HeightFrame,
    SpineCurves,
    curves_from_mask,
    curves_from_volume,
    spine_curves_from_views,
)
from monai_spine.geometry.extract import BoundaryCurves
from monai_spine.geometry.pose import apply_matrix
from monai_spine.io.files import rounded
from monai_spine.measures import measure_spine

__all__ = [
    "TARGETS_SCHEMA",
    "SCOLIOSIS_COBB_DEG",
    "MEASURE_WINDOW_MM",
    "MEASURE_END_MM",
    "coronal_curves",
    "sagittal_curves_in_dxa",
    "pair_curves",
    "curves_in_crop",
    "measure_curves",
    "curves_from_crop",
    "targets_document",
]

TARGETS_SCHEMA = "monai-spine/cohort-targets/v1"
"""The ``schema`` of ``targets.json``."""

SCOLIOSIS_COBB_DEG = 10.0
"""A spine is scoliotic from this coronal Cobb angle on, degrees."""

MEASURE_WINDOW_MM = 90.0
"""Tangent window of the measures (``measure_spine``'s ``window_mm``) on curves from pixel masks, mm: long enough
to average the ±0.5 pixel edge steps (the demo uses it too; the default 60 mm turns them into curves of 20–40° at
the spine's ends)."""


MEASURE_END_MM = 10.0
"""The measures leave out this much of a mask-derived curve at each end, mm: the end plates' partial rows (a body
cut obliquely, the S1 body under the sacrum's tilt) bend its last points by several mm, which the end tangents
turn into a curve of 10–15° on a straight spine."""


def measure_curves(curves: SpineCurves, end_mm: float = MEASURE_END_MM,
                                window_mm: float = MEASURE_WINDOW_MM) -> dict:
    """The clinical measures of curves (``docs/measures.md``), as every route and the regressor's targets report
    them: ``measure_spine`` of the curves resampled (same number of points) between ``end_mm`` below their top and
    above their bottom, tangent window ``window_mm``."""
    heights = HeightFrame.of_curve(curves.coronal_centre, curves.n_points)
    step = np.sign(heights.z_bottom - heights.z_top) * end_mm
    inner = HeightFrame(heights.z_top + step, heights.z_bottom - step, curves.n_points)
    return measure_spine(SpineCurves(*(inner.curve(inner.values(curve)) for curve in curves.to_array())),
                         window_mm=window_mm)


def coronal_curves(dxa_mask, n_points: int = N_POINTS, min_width_fraction: float = 0.0,
                   tail_width_fraction: float = 0.0) -> BoundaryCurves:
    """Centre, right and left curves of a DXA spine mask.

    Args:
        dxa_mask: ``(1, W, H)`` ``MetaTensor`` as ``LoadRadiograph`` gives it (affine 3×3); foreground ``> 0``.
        n_points: points per curve.
        min_width_fraction: leave out end rows narrower than this fraction of the median width (partial end
            plates; ``curves_from_mask``).
        tail_width_fraction: end the curves above a narrow tail below the column (``curves_from_mask``).

    Returns:
        :class:`~monai_spine.geometry.extract.BoundaryCurves`, each ``(n_points, 2)`` of ``(x, z)`` mm in the DXA
        frame, evenly spaced in z from the top of the mask's spine to its bottom.
    """
    spacing = affine_to_spacing(dxa_mask.affine, r=2).tolist()
    return curves_from_mask(np.asarray(dxa_mask[0]), spacing, n_points, min_width_fraction=min_width_fraction,
                            tail_width_fraction=tail_width_fraction)


def sagittal_curves_in_dxa(
    mri_mask, matrix_mri_to_dxa, heights: HeightFrame, min_width_fraction: float = 0.0
) -> BoundaryCurves:
    """Centre, posterior and anterior curves of an MRI spine mask, at DXA heights.

    The MRI mask's sagittal curves (:func:`~monai_spine.geometry.curves_from_volume`) hold ``(y, z)`` in the
    patient volume frame. Each point is placed at its height's coronal centre ``x`` in the MRI, and that
    ``(x, z)`` is mapped into the DXA frame by ``matrix_mri_to_dxa``, which gives its DXA height (the alignment's
    in-plane rotation tilts the MRI's slices slightly); ``y`` (toward anterior) is kept. The curves are then
    resampled at ``heights`` (linearly in z, held constant beyond the MRI spine's ends).

    Args:
        mri_mask: ``(1, X, Y, Z)`` ``MetaTensor`` as ``LoadVolume`` gives it (patient volume frame, ``LAI``).
        matrix_mri_to_dxa: 3×3, MRI coronal frame ``(x, z)`` mm → DXA frame mm (``Alignment``).
        heights: the DXA heights.
        min_width_fraction: as :func:`coronal_curves`, for the MRI's slices.

    Returns:
        :class:`~monai_spine.geometry.extract.BoundaryCurves` (centre, posterior, anterior), each
        ``(heights.n_points, 2)`` of ``(y, z)`` mm; ``y`` in the MRI's volume frame (absolute), ``z`` DXA mm.
    """
    spacing = affine_to_spacing(mri_mask.affine, r=3).tolist()
    volume = curves_from_volume(np.asarray(mri_mask[0]), spacing, min_width_fraction=min_width_fraction).curves
    centre_x = volume.coronal_centre
    in_dxa = []
    for curve in (volume.sagittal_centre, volume.sagittal_posterior, volume.sagittal_anterior):
        x = np.interp(curve[:, 1], centre_x[:, 1], centre_x[:, 0])
        z = apply_matrix(matrix_mri_to_dxa, np.stack([x, curve[:, 1]], axis=1))[:, 1]
        in_dxa.append(heights.curve(heights.values(np.stack([curve[:, 0], z], axis=1))))
    return BoundaryCurves(*in_dxa)


def pair_curves(dxa_mask, mri_mask, matrix_mri_to_dxa, min_width_fraction: float = 0.0) -> SpineCurves:
    """The six target curves of an aligned pair, DXA frame mm, with relative depth.

    Args:
        dxa_mask: the DXA spine mask, ``(1, W, H)`` (``LoadRadiograph``).
        mri_mask: the MRI spine mask, ``(1, X, Y, Z)`` (``LoadVolume``).
        matrix_mri_to_dxa: 3×3, MRI coronal frame → DXA frame (``Alignment.matrix_mri_to_dxa``).
        min_width_fraction: trim partial end rows / slices (:func:`coronal_curves`).

    Returns:
        :class:`~monai_spine.geometry.SpineCurves`: coronal ``(x, z)`` from the DXA mask, sagittal ``(y, z)`` from
        the MRI mask (:func:`sagittal_curves_in_dxa`), all at the DXA spine's 209 heights; ``y`` shifted so that
        the sagittal centre has mean 0 (:meth:`~monai_spine.geometry.SpineCurves.with_relative_depth`), the
        depth a single DXA reports.
    """
    coronal = coronal_curves(dxa_mask, min_width_fraction=min_width_fraction)
    heights = HeightFrame.of_curve(coronal.centre)
    sagittal = sagittal_curves_in_dxa(mri_mask, matrix_mri_to_dxa, heights, min_width_fraction)
    return spine_curves_from_views(coronal, sagittal).with_relative_depth()


def curves_in_crop(curves: SpineCurves, frame: CropFrame) -> dict[str, np.ndarray]:
    """The curves in the crop frame, crop pixels.

    Coronal points ``(x, z)`` become ``(u, v)`` (:meth:`~monai_spine.geometry.CropFrame.to_px`); sagittal points
    ``(y, z)`` become ``(y / s, v)``: relative depth in crop pixels (mean 0, no offset: depth is not in the image)
    at the crop row ``v``.

    Returns:
        ``{name: (N, 2)}`` in :data:`~monai_spine.geometry.CURVE_NAMES` order.
    """
    array = curves.to_array()
    pixels = frame.to_px(array)
    pixels[3:, :, 0] = array[3:, :, 0] / frame.pixel_mm
    return dict(zip(CURVE_NAMES, pixels))


def curves_from_crop(values, frame: CropFrame, heights: HeightFrame) -> SpineCurves:
    """The regressor's normalised output back in image mm: the inverse of :func:`curves_in_crop` over the crop side.

    Args:
        values: ``(6, N)``: coronal crop columns over the crop side ``u / S``, sagittal relative depth in crop
            pixels over the crop side (``monai_spine.transforms.LoadCurveTargets``).
        frame: the crop frame the image was cropped on.
        heights: the spine's ``N`` heights in the image (from its top to its bottom).

    Returns:
        :class:`~monai_spine.geometry.SpineCurves`: coronal ``(x, z)`` in the image frame, sagittal ``(y, z)``
        with relative depth (mean of the sagittal centre 0), mm.
    """
    pixels = np.asarray(values, dtype=np.float64) * frame.size
    coronal = [heights.curve(frame.lateral_to_mm(curve)) for curve in pixels[:3]]
    sagittal = [heights.curve(curve * frame.pixel_mm) for curve in pixels[3:]]
    return SpineCurves(*coronal, *sagittal).with_relative_depth()


def targets_document(pair_id: str, curves: SpineCurves, frame: CropFrame, inputs: dict) -> dict:
    """``targets.json`` of an accepted pair (``docs/cohort.md``).

    Args:
        pair_id: the pair's id.
        curves: the six curves, DXA frame mm, relative depth (:func:`pair_curves`).
        frame: the crop frame the DXA was cropped on.
        inputs: the input files and how the masks were obtained.

    Returns:
        a JSON-ready dict: the curves in DXA mm (``curves_mm``) and in crop pixels (``curves_crop_px``), the crop
        and height frames, ``measures`` (:func:`~monai_spine.measures.measure_spine`, tangent window
        :data:`MEASURE_WINDOW_MM`, on the curves less :data:`MEASURE_END_MM` at each end) and ``scoliotic``
        (coronal Cobb ≥ :data:`SCOLIOSIS_COBB_DEG`).
    """
    heights = HeightFrame.of_curve(curves.coronal_centre)
    measures = measure_curves(curves)
    return {
        "schema": TARGETS_SCHEMA,
        "id": pair_id,
        "inputs": inputs,
        "n_points": curves.n_points,
        "curve_names": list(CURVE_NAMES),
        "crop_frame": {
            "centre_mm": list(frame.centre_mm),
            "pixel_mm": frame.pixel_mm,
            "size": frame.size,
            "centre_px": frame.centre_px,
        },
        "height_frame": {"z_top_mm": heights.z_top, "z_bottom_mm": heights.z_bottom, "n_points": heights.n_points},
        "curves_mm": {name: rounded(points) for name, points in zip(CURVE_NAMES, curves.to_array())},
        "curves_crop_px": {name: rounded(points) for name, points in curves_in_crop(curves, frame).items()},
        "measures": measures,
        "scoliotic": bool(measures["coronal_cobb_deg"] >= SCOLIOSIS_COBB_DEG),
    }
