"""``infer --ap --lateral``: an AP and a lateral radiograph → the 3D spine curve (``docs/commands/infer.md``).

Check the pair (``projection.calibration.check_pair``) → load both views in their standard display → the projection
geometry (JSON sidecar, DICOM tags, or parallel with a warning) → a spine mask per view (the ``segmenter``; by
default the radiograph segmentation bundle) → each mask's three curves in detector pixels → epipolar matching,
triangulation, the six curves in the patient frame (``projection.reconstruction``), the coronal ones smoothed
along the height (:func:`smooth_coronal`) → measures, ``curves.json``
(``mode: biplanar``, QC with the reprojection error in both views and the lateral spine's depth in the body),
``curve3d.csv``, ``overlay.png`` (both views, curves in image coordinates), ``report.png``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import NamedTuple
from warnings import catch_warnings, simplefilter

import numpy as np
import torch
from monai.data import MetaTensor
from monai.data.utils import affine_to_spacing
from scipy import ndimage
from skimage.filters import threshold_otsu

from monai_spine.bundles import RADIOGRAPH_BUNDLE
from monai_spine.errors import SpineInputError
from monai_spine.geometry import MASK_SMOOTHING_MM, SpineCurves, curves_from_mask, smooth_along_height
from monai_spine.geometry.extract import BoundaryCurves
from monai_spine.io.files import staged_output
from monai_spine.projection import Projection
from monai_spine.projection.calibration import check_pair, pair_geometry
from monai_spine.projection.reconstruction import curves_3d, reprojection_errors
from monai_spine.report import save_biplanar_overlay
from monai_spine.segmentation import bundle_limitation, bundle_versions
from monai_spine.transforms import CheckSpineMask, LoadRadiograph

from .results import field_of_view_warnings, ragged_mask_warnings, write_results

__all__ = ["Segmenter", "RadiographSegmenter", "radiograph_segmenter", "view_curves_3d", "overlay_curves",
           "BiplanarResult", "reconstruct_biplanar", "smooth_coronal", "run_biplanar", "infer_biplanar",
           "body_depth_share", "lateral_depth_share", "lateral_mask_in_body", "lateral_rows_in_body",
           "END_ROW_FRACTION", "MIN_HEIGHT_OVERLAP", "MAX_REPROJECTION_MM", "LATERAL_DEPTH_RANGE", "MIN_TRUNK_DEPTH_MM",
           "LATERAL_COMPONENT_MIN_LENGTH_MM"]

Segmenter = Callable[[MetaTensor, str], MetaTensor]
"""``(image (1, W, H), view "ap" | "lateral") -> {0, 1} spine-column mask (1, W, H)`` on the image's grid."""

END_ROW_FRACTION = 0.3
"""Curves start and end at the first and last rows this wide (fraction of the median): no stray end rows. The cervical
spine is narrower than 0.7 of the median (the demo's former value), which cut the line off below C7."""
MIN_HEIGHT_OVERLAP = 0.5
"""Least share of the AP centre line whose epipolar line meets the lateral one: less, and the views do not show the
same spine."""
MAX_REPROJECTION_MM = 2.0
"""Mean reprojection error (detector mm) above which the geometry is warned as inconsistent with the images."""

LATERAL_DEPTH_RANGE = (0.15, 0.6)
"""Where a lateral view's spine centre line may lie in the body, as a share of the body's depth from its back (0) to
its front (1): the vertebral bodies' centres sit about a third of the way forward (the phantom's 0.31–0.38, the real
CT's renders 0.40–0.41; a large abdomen lowers the share, a slim one raises it). Outside, the lateral mask is not
the spine (a network that finds "a spine" in front of the abdomen), and the result says so."""
MIN_TRUNK_DEPTH_MM = 100.0
"""Least front-to-back extent of a lateral's body on a row, mm on the image's grid, for :func:`body_depth_share` to
measure that row: a trunk is 150 mm deep or more, and a radiograph magnifies it; where the image's Otsu foreground is
thinner it is not the body's outline (the phantom's neck rows, 2–51 mm, where it finds the bone only)."""
LATERAL_COMPONENT_MIN_LENGTH_MM = 50.0
"""Least height of the component that :func:`lateral_mask_in_body` takes instead of the largest, mm: two lumbar
vertebrae, half the bundle's own bound: the network's column can be the smaller component when a larger false one
lies in front (on a render of the real CT's upper lumbar spine, 65 mm of column against a 113 mm false mask)."""

_VIEWS = ("ap", "lateral")
_FRAMES = {"ap": "coronal", "lateral": "lateral"}
_NAMES = ("AP", "lateral")
"""The views as warnings name them."""


class RadiographSegmenter:
    """The :data:`Segmenter` of the radiograph spine segmentation bundle on ``device`` (``None``: CUDA when
    available), built when first used; its version and known limitation go to ``curves.json``. A lateral's mask is
    the component that lies where a spine lies in the body (:func:`lateral_mask_in_body`), without its rows that
    do not (:func:`lateral_rows_in_body`)."""

    def __init__(self, device: str | None = None) -> None:
        self.device = device

    def __call__(self, image: MetaTensor, view: str) -> MetaTensor:
        from monai_spine.segmentation import segment_radiograph

        mask = segment_radiograph(image, view, self.device)
        if view != "lateral":
            return mask
        column = lateral_mask_in_body(image, mask, lambda: segment_radiograph(image, view, self.device,
                                                                              every_component=True))
        return lateral_rows_in_body(image, column)


radiograph_segmenter = RadiographSegmenter()
"""The default :class:`RadiographSegmenter`."""


def _pixel_curves(path, image: MetaTensor, mask) -> BoundaryCurves:
    """The mask's three curves in pixels (column, row) of ``image``."""
    qc = getattr(mask, "meta", {}).get("qc_warnings")
    if qc or not np.asarray(mask).any():
        raise SpineInputError(path, f"no spine found in the image{': ' + '; '.join(qc) if qc else ''}")
    spacing = affine_to_spacing(image.affine, r=2).numpy()
    curves = curves_from_mask(np.asarray(mask[0]) > 0, spacing.tolist(), min_width_fraction=END_ROW_FRACTION)
    return BoundaryCurves(*(curve / spacing for curve in curves))


def view_curves_3d(geometries, views: list[BoundaryCurves], lateral_path,
                   lateral_notes: Sequence[str] = ()) -> tuple[SpineCurves, dict]:
    """The six curves from both views' pixel curves, and the QC figures (matched share, reprojection errors).
    ``lateral_notes``: what became of the lateral's mask (its ``meta["warnings"]``), added to the error.

    Raises:
        SpineInputError: the views' spines share less than :data:`MIN_HEIGHT_OVERLAP` of the AP's height.
    """
    try:
        curves, matched = curves_3d(geometries[0], views[0], geometries[1], views[1])
    except ValueError:
        matched = 0.0
    if matched < MIN_HEIGHT_OVERLAP:
        share = np.floor(matched * 100.0)  # rounded down: 49.6 % is not shown as the 50 % it misses
        raise SpineInputError(lateral_path, f"its spine's heights do not overlap the AP's ({share:.0f}% of the AP "
                                            f"centre line has a match, need {MIN_HEIGHT_OVERLAP:.0%})"
                                            + "".join(f"; {note}" for note in lateral_notes))
    line = curves.curve3d()
    errors = {view: reprojection_errors(g, line, v.centre) for view, g, v in zip(_VIEWS, geometries, views)}
    return curves, {"matched_height_share": matched, "reprojection_error_mm": errors}


def smooth_coronal(curves: SpineCurves) -> SpineCurves:
    """The three coronal curves smoothed along the height over :data:`~monai_spine.geometry.MASK_SMOOTHING_MM`, as the
    DXA route's mask curves are: the AP mask's edges step by whole pixels, which the coronal Cobb angle reads as
    curvature (on 20 phantom studies of seed 6160, which test nothing else: Cobb error 6.5 -> 3.0 degrees, coronal
    centre line 1.81 -> 1.73 mm). The sagittal curves are kept: smoothed, the lordosis measured worse there."""
    array = curves.to_array()
    array[:3] = [smooth_along_height(curve, MASK_SMOOTHING_MM) for curve in array[:3]]
    return SpineCurves.from_array(array)


def body_depth_share(image: MetaTensor) -> np.ndarray:
    """Each pixel's place between the body's back (0) and front (1) on its row of a lateral view, ``(W, H)``.

    Args:
        image: the lateral ``(1, W, H)`` in its standard display (columns toward the patient's front, bone bright).

    The body is the image's Otsu foreground (scikit-image). A row without body, whose body reaches the image's edge
    (a field or a collimator that cuts the body), or whose body is thinner than :data:`MIN_TRUNK_DEPTH_MM`, is NaN.
    """
    pixels = np.asarray(image[0], dtype=np.float32)
    body = pixels > threshold_otsu(pixels)
    back = body.argmax(axis=0)
    front = body.shape[0] - 1 - body[::-1].argmax(axis=0)
    trunk = (front - back) * float(affine_to_spacing(image.affine, r=2)[0]) >= MIN_TRUNK_DEPTH_MM
    measured = body.any(axis=0) & (back > 0) & (front < body.shape[0] - 1) & trunk
    share = (np.arange(body.shape[0])[:, None] - back) / np.maximum(front - back, 1)
    return np.where(measured, share, np.nan)


def lateral_depth_share(image: MetaTensor, centre_px: np.ndarray) -> float | None:
    """Where a lateral view's spine lies in the body: the median, over the centre line's rows, of its place between
    the body's back (0) and front (1) on that row (:func:`body_depth_share`); ``None`` when fewer than half the rows
    are measured.

    Args:
        image: the lateral ``(1, W, H)`` in its standard display.
        centre_px: ``(N, 2)`` the centre line's ``(column, row)`` pixels.
    """
    share = body_depth_share(image)
    columns, rows = (np.clip(np.round(centre_px[:, i]).astype(int), 0, share.shape[i] - 1) for i in (0, 1))
    at_centre = share[columns, rows]
    measured = ~np.isnan(at_centre)
    if measured.sum() < 0.5 * len(centre_px):
        return None
    return float(np.median(at_centre[measured]))


def _mask_depth_share(share: np.ndarray, mask) -> float | None:
    """The median depth share of a mask's measured pixels (``None`` for none)."""
    values = share[np.asarray(mask[0]) > 0]
    values = values[~np.isnan(values)]
    return float(np.median(values)) if values.size else None


def _in_depth_range(share: float | None) -> bool:
    return share is not None and LATERAL_DEPTH_RANGE[0] <= share <= LATERAL_DEPTH_RANGE[1]


def lateral_mask_in_body(image: MetaTensor, mask: MetaTensor, every_component: Callable[[], MetaTensor]) -> MetaTensor:
    """A lateral's spine mask that lies where a spine can lie in the body.

    When ``mask`` (the network's largest component, which the bundle keeps) lies outside :data:`LATERAL_DEPTH_RANGE`
    (:func:`body_depth_share`, the median over its pixels), the largest of the network's other components that lies
    inside it is taken instead, if it passes the bundle's checks (:class:`~monai_spine.transforms.CheckSpineMask`,
    at least :data:`LATERAL_COMPONENT_MIN_LENGTH_MM` high), and the result says so in ``meta["warnings"]``.
    Otherwise ``mask`` is returned as it is, and the result's depth check flags it.

    Args:
        image: the lateral ``(1, W, H)`` in its standard display.
        mask: ``(1, W, H)`` {0, 1} its spine mask, one component.
        every_component: the network's mask of ``image`` with every component (called only when needed).
    """
    share = body_depth_share(image)
    low, high = LATERAL_DEPTH_RANGE
    found = _mask_depth_share(share, mask)
    if found is None or _in_depth_range(found):
        return mask
    with catch_warnings():  # the checks of the mask of every component concern no result
        simplefilter("ignore", UserWarning)
        labels, n = ndimage.label(np.asarray(every_component()[0]) > 0)
    components = [labels[None] == i for i in range(1, n + 1)]
    inside = [c for c in components if _in_depth_range(_mask_depth_share(share, c))]
    if not inside:
        return mask
    meta = {key: value for key, value in mask.meta.items() if key != "qc_warnings"}
    candidate = MetaTensor(torch.as_tensor(max(inside, key=np.sum), dtype=torch.uint8), meta=meta)
    candidate = CheckSpineMask(min_length_mm=LATERAL_COMPONENT_MIN_LENGTH_MM)(candidate)
    if candidate.meta.get("qc_warnings"):
        return mask
    kept = _mask_depth_share(share, candidate)
    candidate.meta["warnings"] = [
        f"the lateral's largest mask lay {found:.0%} of the way from the body's back to its front, where no spine "
        f"lies ({low:.0%}-{high:.0%}); the network's largest mask at {kept:.0%} was taken instead: check the lateral "
        f"overlay"]
    return candidate


def lateral_rows_in_body(image: MetaTensor, mask: MetaTensor) -> MetaTensor:
    """A lateral's spine mask without the rows whose centre lies where no spine lies in the body.

    A row of ``mask`` whose centre (the middle of its pixels) lies outside :data:`LATERAL_DEPTH_RANGE` of the body's
    depth on that row (:func:`body_depth_share`; a row it does not measure is kept) is emptied, and the result says
    how much of the mask went in ``meta["warnings"]``; the curves then end at, or bridge, the rows kept. On the real
    CT's renders the network's lateral mask can run from the column into the abdomen, in front of 0.6 of the trunk's
    depth, for a few centimetres (seed 11's render 4: its top 78 mm); such a mask is one component, which
    :func:`lateral_mask_in_body` keeps, so only its rows can go.

    Args:
        image: the lateral ``(1, W, H)`` in its standard display.
        mask: ``(1, W, H)`` {0, 1} its spine mask.

    Returns:
        ``mask`` itself when no row goes, else a copy without those rows.
    """
    low, high = LATERAL_DEPTH_RANGE
    foreground = np.asarray(mask[0]) > 0
    widths = foreground.sum(axis=0)
    filled = np.flatnonzero(widths)
    centres = (np.arange(foreground.shape[0]) @ foreground)[filled] / widths[filled]
    share = body_depth_share(image)[centres.round().astype(int), filled]
    outside = filled[(share < low) | (share > high)]  # NaN (a row not measured) is neither: kept
    if outside.size == 0:
        return mask
    kept = mask.clone()
    kept[0][:, outside] = 0
    height_mm = outside.size * float(affine_to_spacing(image.affine, r=2)[1])
    kept.meta["warnings"] = [*mask.meta.get("warnings", []),
                             f"{height_mm:.0f} mm of the lateral mask's rows lay where no spine lies in the body "
                             f"(outside {low:.0%}-{high:.0%} of its depth from the back) and were left out of its "
                             f"curves"]
    return kept


def _lateral_depth_warnings(share: float | None) -> list[str]:
    low, high = LATERAL_DEPTH_RANGE
    if share is None or low <= share <= high:
        return []
    return [f"the lateral's spine lies {share:.0%} of the way from the body's back to its front, where no spine lies "
            f"({low:.0%}-{high:.0%}): the lateral mask is not the spine, the sagittal curves and angles are wrong"]


def overlay_curves(geometry: Projection, curves: SpineCurves, spacing_mm) -> list[np.ndarray]:
    """The view's three curves ``(N, 2)`` in its image frame, mm (pixel × ``spacing_mm``): the 3D curves projected
    through ``geometry``."""
    line = curves.curve3d()
    array = curves.to_array()
    edges = array[[1, 2]] if geometry.view == "ap" else array[[4, 5]]
    points = [line] + [np.c_[line[:, :geometry.column_axis], edge[:, 0], line[:, geometry.column_axis + 1:]]
                       for edge in edges]
    return [geometry.project(p) * np.asarray(spacing_mm) for p in points]


def _reprojection_warnings(qc: dict) -> list[str]:
    return [f"{view} reprojection error {e['mean_mm']:.1f} mm (max {e['max_mm']:.1f} mm) > {MAX_REPROJECTION_MM} mm: "
            f"the geometry does not fit the images" for view, e in qc["reprojection_error_mm"].items()
            if e["mean_mm"] > MAX_REPROJECTION_MM]


class BiplanarResult(NamedTuple):
    """:func:`reconstruct_biplanar`'s result.

    ``curves``: the six curves in the patient frame of ``geometries`` (AP, lateral), the coronal ones smoothed
    (:func:`smooth_coronal`); ``images``: both views
    ``(1, W, H)``; ``qc``: matched height share, reprojection errors and the lateral spine's depth share
    (:func:`lateral_depth_share`); ``warnings``: QC warnings; ``source``:
    where the geometry came from (``projection.calibration.pair_geometry``).
    """

    curves: SpineCurves
    geometries: tuple[Projection, Projection]
    images: list[MetaTensor]
    qc: dict
    warnings: list[str]
    source: dict

    @property
    def spacings_mm(self) -> list[tuple[float, float]]:
        """Each view's pixel spacing ``(column, row)``, mm."""
        return [tuple(affine_to_spacing(image.affine, r=2).tolist()) for image in self.images]

    def view_curves(self) -> list[list[np.ndarray]]:
        """Each view's three curves ``(N, 2)`` in its image frame, mm (:func:`overlay_curves`): what
        ``overlay.png`` draws, and the AP's centre line that the SR draws on the AP."""
        return [overlay_curves(g, self.curves, s) for g, s in zip(self.geometries, self.spacings_mm)]


def reconstruct_biplanar(ap_path, lateral_path, segmenter: Segmenter = radiograph_segmenter,
                         geometry_file=None) -> BiplanarResult:
    """The bi-planar route's computation on an AP and a lateral radiograph (no file written).

    Args:
        ap_path, lateral_path: the two views (DICOM or 2D NIfTI).
        segmenter: :data:`Segmenter` (default :func:`radiograph_segmenter`).
        geometry_file: a JSON geometry of both views (``projection.calibration``), or ``None``.

    Raises:
        SpineInputError: the files are not an AP and a lateral of one patient and study, a geometry that does not fit,
            no spine found in a view, or views that show no common height.
    """
    paths = (ap_path, lateral_path)
    tags = check_pair(*paths)
    images = [LoadRadiograph(_FRAMES[view])(path) for view, path in zip(_VIEWS, paths)]
    spacings = [tuple(affine_to_spacing(image.affine, r=2).tolist()) for image in images]
    shapes = [tuple(image.shape[1:]) for image in images]
    geometries, source = pair_geometry(paths, tags, shapes, spacings, geometry_file)
    masks = [segmenter(image, view) for image, view in zip(images, _VIEWS)]
    views = [_pixel_curves(path, image, mask) for path, image, mask in zip(paths, images, masks)]
    curves, qc = view_curves_3d(geometries, views, lateral_path, masks[1].meta.get("warnings", []))
    curves = smooth_coronal(curves)
    qc["lateral_depth_share"] = lateral_depth_share(images[1], views[1].centre)
    warnings = [*(w for item in (*images, *masks) for w in getattr(item, "meta", {}).get("warnings", [])),
                *source["warnings"],
                *field_of_view_warnings(dict(zip(_NAMES, zip(masks, spacings)))),
                *(w for view, mask, spacing in zip(_NAMES, masks, spacings)
                  for w in ragged_mask_warnings(view, mask, spacing)),
                *_reprojection_warnings(qc), *_lateral_depth_warnings(qc["lateral_depth_share"])]
    return BiplanarResult(curves, geometries, images, qc, warnings, source)


def run_biplanar(ap_path, lateral_path, folder: Path, title: str, segmenter: Segmenter = radiograph_segmenter,
                 geometry_file=None, inputs: dict | None = None, extra_warnings=(), provenance: dict | None = None,
                 pictures: bool = True):
    """Run the bi-planar route (:func:`reconstruct_biplanar`) and write its results into ``folder`` (created if
    missing; the pictures only when ``pictures``); ``title`` is the report's; ``inputs``, ``extra_warnings`` and
    ``provenance`` (entries beside the bundles that made the masks) go to ``curves.json``.

    Returns:
        ``(result, measures)``: the :class:`BiplanarResult` (curves in the patient frame of its geometries,
        ``curves.json``'s ``inputs.geometry``) and the measures.
    """
    result = reconstruct_biplanar(ap_path, lateral_path, segmenter, geometry_file)
    spacings = result.spacings_mm
    source = result.source
    inputs = {"ap": os.fspath(ap_path), "lateral": os.fspath(lateral_path), **(inputs or {}),
              "modality": [image.meta.get("modality", "DX") for image in result.images],
              "pixel_spacing_mm": {view: list(s) for view, s in zip(_VIEWS, spacings)},
              "frame": "patient frame of the bi-planar geometry (x left, y anterior, z feet, mm); "
                       + ("calibrated" if source["source"] != "none" else "parallel: depth scale nominal"),
              "geometry_source": source["source"], "geometry_files": source["files"],
              "geometry": {view: g.to_dict() for view, g in zip(_VIEWS, result.geometries)}}
    overlay = partial(save_biplanar_overlay, images=[image[0].numpy() for image in result.images],
                      spacings_mm=spacings, title="biplanar: spine curves in both views",
                      view_curves=result.view_curves())
    bundles, limitations = _mask_bundles(segmenter)
    measures = write_results(folder, result.curves, "biplanar", inputs, overlay,
                             [*result.warnings, *extra_warnings, *limitations],
                             {"bundles": bundles, **(provenance or {})}, title, result.qc, pictures)
    return result, measures


def _mask_bundles(segmenter: Segmenter) -> tuple[dict[str, str], list[str]]:
    """The bundles that made the masks (the radiograph bundle, for a :class:`RadiographSegmenter`): their versions for
    ``curves.json``'s provenance and their known limitations as QC warnings."""
    if not isinstance(segmenter, RadiographSegmenter):
        return {}, []
    limitation = bundle_limitation(RADIOGRAPH_BUNDLE)
    return bundle_versions((RADIOGRAPH_BUNDLE,)), [limitation] if limitation else []


def infer_biplanar(ap_path, lateral_path, out, segmenter: Segmenter = radiograph_segmenter,
                   geometry_file=None) -> dict:
    """``monai-spine infer --ap FILE --lateral FILE --out DIR``: the results in ``out`` (nothing unless all
    succeeded). Returns the measures."""
    with staged_output(out) as stage:
        _, measures = run_biplanar(ap_path, lateral_path, stage, f"monai-spine: {Path(ap_path).name} + "
                                   f"{Path(lateral_path).name} (bi-planar)", segmenter, geometry_file)
    return measures
