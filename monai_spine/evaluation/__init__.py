"""Evaluation of the project's bundles and pipelines on studies with truth (``monai-spine evaluate``).

``evaluate_datalist(datalist, split, out, device)`` scores one split of a ``phantom`` or ``drr`` datalist with
the registered scorers (:data:`SCORERS`: DXA, MRI and radiograph segmentation bundles, DXA ↔ MRI alignment; the
DXA → 3D and bi-planar pipelines plug in with :func:`register_scorer`) and writes ``metrics.csv``, ``summary.json`` and
``evaluation.png``. See ``docs/commands/evaluate.md``.
"""

from .figures import DxaPanel, save_evaluation_figure
from .run import SCHEMA, evaluate_datalist, score_study, summarise
from .scorers import (
    SCORERS,
    TARGET_LEVELS,
    AlignmentScorer,
    DxaSegmentationScorer,
    MriSegmentationScorer,
    RadiographSegmentationScorer,
    Scorer,
    dxa_centroids,
    figure_summary,
    register_scorer,
    score_dxa_mask,
)
from .scores import (
    AlignmentErrors,
    CentroidContainment,
    CoronalLineErrors,
    MaskReach,
    alignment_errors,
    centroid_containment,
    centroid_pixels,
    coronal_line_errors,
    dice,
    mask_reach,
)
from .studies import SPLITS, EvaluationStudy, read_studies

__all__ = [
    "SCHEMA",
    "SCORERS",
    "SPLITS",
    "TARGET_LEVELS",
    "AlignmentErrors",
    "AlignmentScorer",
    "CentroidContainment",
    "CoronalLineErrors",
    "DxaPanel",
    "DxaSegmentationScorer",
    "EvaluationStudy",
    "MaskReach",
    "MriSegmentationScorer",
    "RadiographSegmentationScorer",
    "Scorer",
    "alignment_errors",
    "centroid_containment",
    "centroid_pixels",
    "coronal_line_errors",
    "dice",
    "dxa_centroids",
    "evaluate_datalist",
    "figure_summary",
    "mask_reach",
    "read_studies",
    "register_scorer",
    "save_evaluation_figure",
    "score_dxa_mask",
    "score_study",
    "summarise",
]
