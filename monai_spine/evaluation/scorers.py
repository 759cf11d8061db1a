"""Scorers: what ``monai-spine evaluate`` runs on each study, and how it sums them up in ``summary.json``.

A scorer names the datalist keys it needs, the items of a study it scores (one image, or one per MRI contrast),
the figures of each item (the columns of ``metrics.csv``) and the section of ``summary.json`` its summary goes
in. :data:`SCORERS` is the registry (:func:`register_scorer`), the DXA → 3D and bi-planar pipelines
(``pipelines.dxa``, ``pipelines.biplanar``) among them.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

import numpy as np
from monai.data.utils import affine_to_spacing
from scipy import ndimage

from monai_spine.cohort import measure_curves, truth_curves
from monai_spine.drr.column import NO_BODY_LEVELS
from monai_spine.errors import SpineInputError
from monai_spine.geometry import CURVE_NAMES, SpineCurves
from monai_spine.measures import curve_mae_mm, relative_error_percent
from monai_spine.measures.metrics import SCALAR_MEASURES, lateral_at_truth_heights
from monai_spine.pipelines.biplanar import RadiographSegmenter, Segmenter, reconstruct_biplanar
from monai_spine.pipelines.dxa import CORONAL_SOURCE
from monai_spine.registration import AlignmentConfig, align_pair
from monai_spine.regression import curve_regressor, regress_dxa_curves
from monai_spine.segmentation import RADIOGRAPH_VIEWS
from monai_spine.segmentation.runner import bundle_segmenter
from monai_spine.transforms import LoadRadiograph

from .figures import CurvePanel, DxaPanel
from .scores import (
    alignment_errors,
    biplanar_truth_curves,
    centroid_containment,
    centroid_pixels,
    coronal_line_errors,
    dice,
    mask_reach,
)
from .studies import EvaluationStudy

__all__ = [
    "Scorer",
    "DxaSegmentationScorer",
    "MriSegmentationScorer",
    "RadiographSegmentationScorer",
    "AlignmentScorer",
    "DxaPipelineScorer",
    "BiplanarPipelineScorer",
    "curve_errors",
    "SCORERS",
    "register_scorer",
    "figure_summary",
    "dxa_centroids",
    "score_dxa_mask",
    "TARGET_LEVELS",
]

TARGET_LEVELS = ("T12", "L1", "L2", "L3", "L4", "L5", "L6", "S1")
"""The levels whose centroids the DXA mask must contain (issue 10's target), where a study labels them."""
_LEVEL = re.compile(r"^(C[1-7]|T([1-9]|1[0-3])|L[1-6]|S1)$")
"""Vertebral levels; those in the spine column (the masks' object, C2 to the S1 body) leave out
:data:`~monai_spine.drr.column.NO_BODY_LEVELS`."""

_LEVEL_NAMES = {"sacrum": "S1"}
"""The phantom's ``truth.json`` names its sacrum ``sacrum``; its centre is the S1 body's, the column's last body."""

_MRI_KEY = re.compile(r"^mri(_(?!spine$|tissues$)\w+)?$")
"""Datalist keys of MRI(-like) images: ``mri`` (in-phase), ``mri_water``, ``mri_fat``, ... but not ``mri_spine``
(the truth) nor ``mri_tissues`` (a ``drr`` study's tissue label map)."""


def figure_summary(rows: Sequence[dict], name: str, worst: str = "max") -> dict | None:
    """``{"mean", "median", "worst", "worst_id"}`` of figure ``name`` over ``rows`` (finite values only);
    ``worst`` is ``"max"`` (an error) or ``"min"`` (an overlap). ``None`` when no row has the figure."""
    values = [(float(row[name]), row["id"]) for row in rows if np.isfinite(row.get(name, np.nan))]
    if not values:
        return None
    figures = np.asarray([v for v, _ in values])
    index = int(np.argmax(figures) if worst == "max" else np.argmin(figures))
    return {"mean": float(figures.mean()), "median": float(np.median(figures)), "worst": float(figures[index]),
            "worst_id": values[index][1]}


def _counts(rows: Sequence[dict]) -> dict:
    return {status: sum(row["status"] == status for row in rows) for status in ("ok", "failed", "skipped")}


def _summary_per_item(rows: Sequence[dict], figures: Sequence[str], items: Sequence[str] | None = None) -> dict:
    """Per ``item`` (in the rows' order, or only ``items`` and in their order): the counts and each of ``figures``'
    summary, ``worst`` the lowest (an overlap or a reach)."""
    groups = {item: [] for item in items or ()}
    for row in rows:
        if items is None or row["item"] in groups:
            groups.setdefault(row["item"], []).append(row)
    return {item: {**_counts(group), **{name: figure_summary([r for r in group if r["status"] == "ok"], name, "min")
                                        for name in figures}}
            for item, group in groups.items() if group}


class Scorer(ABC):
    """One kind of figures for every study.

    Attributes:
        name: the ``scorer`` column of ``metrics.csv``.
        section: where :meth:`summarise`'s result goes in ``summary.json`` (e.g. ``("segmentation", "dxa")``).
        requires: datalist keys without which a study is skipped (``status: skipped``).
        figures: the figure columns of its rows, in order.
    """

    name: str
    section: tuple[str, ...]
    requires: tuple[str, ...]
    figures: tuple[str, ...]

    def items(self, study: EvaluationStudy) -> list[str]:
        """What is scored in ``study``, one row each: by default its first required key."""
        return [self.requires[0]]

    @abstractmethod
    def score(self, study: EvaluationStudy, item: str) -> dict:
        """The figures of one item: ``{figure: value}``; an exception marks the row failed."""

    @abstractmethod
    def summarise(self, rows: Sequence[dict]) -> dict:
        """This scorer's section of ``summary.json`` from all its rows (``status`` ok, failed or skipped)."""

    def panel(self, study: EvaluationStudy, row: dict) -> tuple[tuple, DxaPanel | CurvePanel] | None:
        """A picture of a scored row for ``evaluation.png`` and its rank (lowest: worst), or ``None``."""
        return None


SCORERS: dict[str, Callable[[str | None], Scorer]] = {}
"""Registered scorers: ``{name: factory(device) -> Scorer}``, run in this order."""


def register_scorer(name: str):
    """Class decorator adding a :class:`Scorer` (built as ``cls(device)``) to :data:`SCORERS` under ``name``."""

    def add(cls):
        SCORERS[name] = cls
        return cls

    return add


@register_scorer("dxa_segmentation")
class DxaSegmentationScorer(Scorer):
    """The DXA segmentation bundle on ``dxa`` against ``dxa_spine`` and the vertebral centroids of ``truth``.

    Figures: ``dice``; ``centroids_inside`` of ``centroids_total`` labelled vertebrae (centre projected into the
    DXA through ``truth.json``'s ``frames.dxa``), ``missed_levels``, ``target_levels_inside`` (T12–S1 present all
    inside, 1/0); ``centre_mae_mm``, ``width_error_mm`` and ``height_coverage``
    (:func:`~monai_spine.evaluation.scores.coronal_line_errors` against ``curves.dxa``).
    """

    name = "dxa_segmentation"
    section = ("segmentation", "dxa")
    requires = ("dxa", "dxa_spine", "truth")
    figures = ("dice", "centroids_inside", "centroids_total", "target_levels_inside", "missed_levels",
               "centre_mae_mm", "width_error_mm", "height_coverage")

    def __init__(self, device: str | None = None) -> None:
        self.device = device

    def score(self, study: EvaluationStudy, item: str) -> dict:
        mask = study.bundle_mask("dxa", bundle_segmenter("dxa_spine_segmentation", self.device))
        return score_dxa_mask(mask, study.truth_mask("dxa_spine", mask), study.truth)

    def summarise(self, rows: Sequence[dict]) -> dict:
        ok = [row for row in rows if row["status"] == "ok"]
        levels = {}
        for row in ok:
            for name, inside in row["levels"].items():
                levels.setdefault(name, []).append(inside)
        return {
            **_counts(rows),
            "dice": figure_summary(ok, "dice", "min"),
            "centroids_inside": sum(row["centroids_inside"] for row in ok),
            "centroids_total": sum(row["centroids_total"] for row in ok),
            "studies_with_target_levels_inside": sum(row["target_levels_inside"] for row in ok),
            "centroid_inside_share_by_level": {name: float(np.mean(v)) for name, v in levels.items()},
            "centre_mae_mm": figure_summary(ok, "centre_mae_mm"),
            "width_error_mm": figure_summary(ok, "width_error_mm"),
            "height_coverage": figure_summary(ok, "height_coverage", "min"),
        }

    def panel(self, study: EvaluationStudy, row: dict) -> tuple[tuple, DxaPanel]:
        """The DXA, the bundle's mask and the centroids, ranked by share of centroids inside, then Dice."""
        mask = study.bundle_mask("dxa", bundle_segmenter("dxa_spine_segmentation", self.device))
        _, pixels = dxa_centroids(study.truth)
        title = f"{study.id}: Dice {row['dice']:.3f}, {row['centroids_inside']}/{row['centroids_total']} inside"
        panel = DxaPanel(study.dxa[0], affine_to_spacing(mask.affine, r=2).tolist(), mask[0], pixels,
                         list(row["levels"].values()), title)
        return (row["centroids_inside"] / max(row["centroids_total"], 1), row["dice"]), panel


def dxa_centroids(truth: dict) -> tuple[list[str], np.ndarray]:
    """The labelled vertebral levels of ``truth.json`` with a body in the column (C2–C7, T1–T13, L1–L6, S1; the
    phantom's ``sacrum`` counts as S1, its centre being the S1 body's): their names and their centres' DXA pixels
    ``(N, 2)``."""
    frame = truth["frames"]["dxa"]
    named = [(_LEVEL_NAMES.get(v["name"], v["name"]), v["centre_mm"]) for v in truth["vertebrae"]]
    vertebrae = [(name, centre) for name, centre in named if _LEVEL.match(name) and name not in NO_BODY_LEVELS]
    centres = np.asarray([centre for _, centre in vertebrae], dtype=np.float64).reshape(-1, 3)[:, [0, 2]]
    return [name for name, _ in vertebrae], centroid_pixels(centres, frame["origin_mm"], frame["pixel_mm"])


def score_dxa_mask(mask, truth_mask, truth: dict) -> dict:
    """:class:`DxaSegmentationScorer`'s figures of a DXA spine mask ``(1, W, H)`` against the study's truth
    (the true mask on the same grid, and ``truth.json``); also ``levels``: ``{level: inside}``."""
    names, pixels = dxa_centroids(truth)
    found = centroid_containment(np.asarray(mask[0]), names, pixels)
    targets = [found.inside[name] for name in TARGET_LEVELS if name in found.inside]
    lines = coronal_line_errors(np.asarray(mask[0]), affine_to_spacing(mask.affine, r=2).tolist(),
                                truth["curves"]["dxa"]["coronal_right"], truth["curves"]["dxa"]["coronal_left"])
    return {
        "dice": dice(mask[0], truth_mask[0]),
        "centroids_inside": found.n_inside,
        "centroids_total": len(names),
        "target_levels_inside": int(all(targets)),
        "missed_levels": " ".join(found.missed),
        **lines._asdict(),
        "levels": found.inside,
    }


@register_scorer("mri_segmentation")
class MriSegmentationScorer(Scorer):
    """The MRI segmentation bundle on every MRI contrast of a study (``mri``, ``mri_water``, ``mri_fat``, ...)
    against ``mri_spine``: ``dice`` per contrast, summarised per contrast (named by file, e.g. ``mri_water``)."""

    name = "mri_segmentation"
    section = ("segmentation", "mri")
    requires = ("mri", "mri_spine")
    figures = ("dice",)

    def __init__(self, device: str | None = None) -> None:
        self.device = device

    def items(self, study: EvaluationStudy) -> list[str]:
        return [key for key in study.files if _MRI_KEY.match(key)]

    def score(self, study: EvaluationStudy, item: str) -> dict:
        mask = study.bundle_mask(item, bundle_segmenter("mri_spine_segmentation", self.device))
        return {"dice": dice(mask[0], study.truth_mask("mri_spine", mask)[0])}

    def summarise(self, rows: Sequence[dict]) -> dict:
        return _summary_per_item(rows, self.figures)


def study_segmenter(study: EvaluationStudy, segmenter: Segmenter) -> Segmenter:
    """``segmenter`` with its masks kept in ``study`` under the view's name (``ap``, ``lateral``), so that the
    radiograph scorer and the bi-planar route's scorer segment each view once."""
    return lambda image, view: study.bundle_mask(view, lambda loaded: segmenter(loaded, view), image)


@register_scorer("radiograph_segmentation")
class RadiographSegmentationScorer(Scorer):
    """The radiograph segmentation bundle, as the bi-planar route runs it, on ``ap`` and ``lateral`` against
    ``ap_spine`` and ``lateral_spine``: one row per view (``item``), summarised per view.

    Figures: ``dice``; ``rows_reached``, ``lower_rows_reached`` and ``width_ratio``
    (:func:`~monai_spine.evaluation.scores.mask_reach`: how much of the true column's height the mask reaches, in
    all and in its lower half, and how wide it is where it does).

    Args:
        segmenter: the route's :data:`~monai_spine.pipelines.biplanar.Segmenter` (default: the bundle's on ``device``).
    """

    name = "radiograph_segmentation"
    section = ("segmentation", "radiograph")
    requires = ("ap", "ap_spine", "lateral", "lateral_spine")
    figures = ("dice", "rows_reached", "lower_rows_reached", "width_ratio")

    def __init__(self, device: str | None = None, segmenter: Segmenter | None = None) -> None:
        self.segmenter = segmenter or RadiographSegmenter(device)

    def items(self, study: EvaluationStudy) -> list[str]:
        return list(RADIOGRAPH_VIEWS)

    def score(self, study: EvaluationStudy, item: str) -> dict:
        frame = RADIOGRAPH_VIEWS[item]
        image = LoadRadiograph(frame)(study.files[item])
        mask = study_segmenter(study, self.segmenter)(image, item)
        truth = study.truth_mask(f"{item}_spine", image, frame)
        return {"dice": dice(mask[0], truth[0]), **mask_reach(mask[0], truth[0])._asdict()}

    def summarise(self, rows: Sequence[dict]) -> dict:
        """Per view: the counts and each figure's summary, ``worst`` the lowest (a short or narrow mask)."""
        return _summary_per_item(rows, self.figures, list(RADIOGRAPH_VIEWS))


@register_scorer("alignment")
class AlignmentScorer(Scorer):
    """``align_pair`` on the bundles' DXA and (in-phase) MRI masks, as ``monai-spine align`` runs it, against
    ``truth.json``'s ``matrix_mri_to_dxa``; ``alignable`` is the truth's verdict (no MRI posture change).

    Figures: ``accepted``, ``alignable``, ``verdict_correct`` (1/0); ``iou``; ``rotation_error_deg`` and
    ``translation_error_mm`` at the centroid of the MRI spine mask (in the MRI coronal frame), and its parts
    ``along_spine_error_mm`` and ``across_spine_error_mm``; ``reason`` of a rejection.
    """

    name = "alignment"
    section = ("alignment",)
    requires = ("mri", "dxa", "truth")
    figures = ("accepted", "alignable", "verdict_correct", "iou", "rotation_error_deg", "translation_error_mm",
               "along_spine_error_mm", "across_spine_error_mm", "reason")

    def __init__(self, device: str | None = None, config: AlignmentConfig = AlignmentConfig()) -> None:
        self.device = device
        self.config = config

    def score(self, study: EvaluationStudy, item: str) -> dict:
        mri = study.image("mri")  # read once: the disc stage needs the volume, the mask may be cached
        dxa_mask = study.bundle_mask("dxa", bundle_segmenter("dxa_spine_segmentation", self.device))
        mri_mask = study.bundle_mask("mri", bundle_segmenter("mri_spine_segmentation", self.device), mri)
        alignment = align_pair(dxa_mask, mri_mask, self.config, dxa_image=study.dxa, mri_image=mri)
        centroid = np.asarray(ndimage.center_of_mass(np.asarray(mri_mask[0]) > 0))[[0, 2]]
        spacing = affine_to_spacing(mri_mask.affine, r=3).numpy()[[0, 2]]
        truth = np.asarray(study.truth["matrix_mri_to_dxa"], dtype=np.float64)
        errors = alignment_errors(alignment.matrix_mri_to_dxa, truth, centroid * spacing)
        alignable = not study.truth.get("mri_posture_changed", False)
        return {"accepted": int(alignment.accepted), "alignable": int(alignable),
                "verdict_correct": int(alignment.accepted == alignable), "iou": alignment.iou, **errors._asdict(),
                "reason": alignment.reason}

    def summarise(self, rows: Sequence[dict]) -> dict:
        ok = [row for row in rows if row["status"] == "ok"]
        alignable = [row for row in ok if row["alignable"]]
        return {
            **_counts(rows),
            "accepted": sum(row["accepted"] for row in ok),
            "alignable": len(alignable),
            "verdict_correct": sum(row["verdict_correct"] for row in ok),
            "iou": figure_summary(ok, "iou", "min"),
            "rotation_error_deg": figure_summary(alignable, "rotation_error_deg"),
            "translation_error_mm": figure_summary(alignable, "translation_error_mm"),
            "along_spine_error_mm": figure_summary(alignable, "along_spine_error_mm"),
            "across_spine_error_mm": figure_summary(alignable, "across_spine_error_mm"),
        }


def curve_errors(pred: SpineCurves, truth: SpineCurves) -> dict:
    """The DXA route's figures against the truth (both with relative depth), per the contract's ``summary.json``.

    ``coronal_mae_mm`` / ``sagittal_mae_mm``: centre lines at the truth's heights; ``curve_mae_mm_<name>`` for
    all six; ``relative_error_percent``: mean of the six over the truth's height; ``mean_3d_mm``: mean 3D distance
    of the centre lines at the truth's heights; ``<measure>_error``: signed error of each measure
    (:data:`~monai_spine.measures.metrics.SCALAR_MEASURES`, both measured by ``cohort.targets.measure_curves``).
    """
    mae = curve_mae_mm(pred, truth)
    centres = truth.to_array()[[0, 3]]  # coronal and sagittal centre lines
    dx, dy = lateral_at_truth_heights(pred.to_array()[[0, 3]], centres) - centres[..., 0]
    measured = measure_curves(pred), measure_curves(truth)
    return {
        "coronal_mae_mm": float(mae[0]),
        "sagittal_mae_mm": float(mae[3]),
        "mean_3d_mm": float(np.mean(np.hypot(dx, dy))),
        "relative_error_percent": float(np.mean(relative_error_percent(pred, truth))),
        **{f"curve_mae_mm_{name}": float(v) for name, v in zip(CURVE_NAMES, mae)},
        **{f"{key}_error": float(measured[0][key] - measured[1][key]) for key in SCALAR_MEASURES},
    }


@register_scorer("dxa_pipeline")
class DxaPipelineScorer(Scorer):
    """The DXA route (``infer --dxa``: segmentation bundle, crop, curve regressor) on ``dxa`` against the six curves
    of ``truth`` (:func:`curve_errors`)."""

    name = "dxa_pipeline"
    section = ("pipelines", "dxa")
    requires = ("dxa", "truth")
    figures = ("coronal_mae_mm", "sagittal_mae_mm", "mean_3d_mm", "relative_error_percent",
               *(f"curve_mae_mm_{name}" for name in CURVE_NAMES), *(f"{key}_error" for key in SCALAR_MEASURES))

    def __init__(self, device: str | None = None, coronal_source: str = CORONAL_SOURCE) -> None:
        self.device = device
        self.coronal_source = coronal_source
        self.scored: tuple[str, SpineCurves, SpineCurves] | None = None
        """The last scored study's id, predicted and true curves, for :meth:`panel`."""

    def score(self, study: EvaluationStudy, item: str) -> dict:
        mask = study.bundle_mask("dxa", bundle_segmenter("dxa_spine_segmentation", self.device))
        if not np.asarray(mask).any():
            raise SpineInputError(study.files["dxa"], "no spine found in the image")
        pred, _ = regress_dxa_curves(study.dxa, mask, curve_regressor(self.device), self.coronal_source)
        return self._errors(study, pred, truth_curves(study.files["truth"]))

    def _errors(self, study: EvaluationStudy, pred: SpineCurves, truth: SpineCurves) -> dict:
        """:func:`curve_errors`, the curves kept for :meth:`panel`."""
        self.scored = study.id, pred, truth
        return curve_errors(pred, truth)

    def panel(self, study: EvaluationStudy, row: dict) -> tuple[tuple, CurvePanel] | None:
        """The predicted and true curves, ranked by mean 3D distance (highest: worst)."""
        if self.scored is None or self.scored[0] != study.id:
            return None
        _, pred, truth = self.scored
        title = f"{study.id}: 3D {row['mean_3d_mm']:.1f} mm, sagittal {row['sagittal_mae_mm']:.1f} mm"
        return (-row["mean_3d_mm"],), CurvePanel(pred, truth, title)

    def summarise(self, rows: Sequence[dict]) -> dict:
        ok = [row for row in rows if row["status"] == "ok"]
        mean = {name: float(np.mean([row[name] for row in ok])) if ok else None
                for name in ("mean_3d_mm", "coronal_mae_mm", "sagittal_mae_mm")}
        angle_mae = {f"{short}_mae_deg": float(np.mean([abs(row[f"{key}_error"]) for row in ok])) if ok else None
                     for short, key in (("cobb", "coronal_cobb_deg"), ("kyphosis", "thoracic_kyphosis_deg"),
                                        ("lordosis", "lumbar_lordosis_deg"), ("ferguson", "coronal_ferguson_deg"))}
        return {"n": len(ok), "failed": sum(row["status"] == "failed" for row in rows), **mean, **angle_mae,
                **{name: figure_summary(ok, name) for name in self.figures if name.startswith("curve_mae")},
                "relative_error_percent": figure_summary(ok, "relative_error_percent")}


@register_scorer("biplanar_pipeline")
class BiplanarPipelineScorer(DxaPipelineScorer):
    """The bi-planar route (``infer --ap --lateral``: geometry from the files, the radiograph segmentation, epipolar
    matching and triangulation) on ``ap`` and ``lateral`` against the six true curves in the route's frame
    (:func:`~monai_spine.evaluation.scores.biplanar_truth_curves`), with :class:`DxaPipelineScorer`'s figures and
    summary, depth absolute; also the mean reprojection error of each view.

    Args:
        segmenter: the route's :data:`~monai_spine.pipelines.biplanar.Segmenter` (default: the bundle's on ``device``).
    """

    name = "biplanar_pipeline"
    section = ("pipelines", "biplanar")
    requires = ("ap", "lateral", "truth")
    figures = (*DxaPipelineScorer.figures, "reprojection_ap_mm", "reprojection_lateral_mm")

    def __init__(self, device: str | None = None, segmenter: Segmenter | None = None) -> None:
        super().__init__(device)
        self.segmenter = segmenter or RadiographSegmenter(device)

    def score(self, study: EvaluationStudy, item: str) -> dict:
        result = reconstruct_biplanar(study.files["ap"], study.files["lateral"], study_segmenter(study, self.segmenter))
        errors = result.qc["reprojection_error_mm"]
        return {**self._errors(study, result.curves, biplanar_truth_curves(study.truth, result.geometries)),
                **{f"reprojection_{view}_mm": errors[view]["mean_mm"] for view in ("ap", "lateral")}}
