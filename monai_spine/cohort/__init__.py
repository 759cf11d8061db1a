"""The DXA regressor's paired training cohort: DXA ↔ MRI pairs → aligned targets, crops and a datalist.

``build_cohort(pairs, out, PairSettings(...))`` builds every pair (:func:`build_pair`: load, spine masks,
``registration.align_pair``, the six target curves in the DXA frame, the 224 × 224 DXA crop) in worker processes
or on a Dask cluster, resumably, and writes the MONAI datalist. Pairs come from :func:`pairs_from_datalist`,
:func:`pairs_from_folder` or :func:`pairs_from_csv`. Layouts, targets and frames: ``docs/cohort.md``.
"""

from .build import CohortSummary, build_cohort
from .crop import CROP_PIXEL_MM, crop_image, save_crop, spine_outside_crop
from .pair import STATUSES, PairResult, PairSettings, build_pair, read_pair
from .sources import PairSource, check_pairs, pairs_from_csv, pairs_from_datalist, pairs_from_folder
from .targets import (
    TARGETS_SCHEMA,
    coronal_curves,
    curves_from_crop,
    curves_in_crop,
    measure_curves,
    pair_curves,
    sagittal_curves_in_dxa,
    targets_document,
)
from .truth import (
    FieldOfView,
    build_truth_cohort,
    build_truth_pair,
    cut_field_of_view,
    random_field_of_view,
    truth_curves,
)

__all__ = [
    "CROP_PIXEL_MM",
    "STATUSES",
    "TARGETS_SCHEMA",
    "CohortSummary",
    "FieldOfView",
    "PairResult",
    "PairSettings",
    "PairSource",
    "build_cohort",
    "build_pair",
    "build_truth_cohort",
    "build_truth_pair",
    "check_pairs",
    "coronal_curves",
    "crop_image",
    "cut_field_of_view",
    "curves_from_crop",
    "curves_in_crop",
    "measure_curves",
    "pair_curves",
    "pairs_from_csv",
    "pairs_from_datalist",
    "pairs_from_folder",
    "random_field_of_view",
    "read_pair",
    "sagittal_curves_in_dxa",
    "save_crop",
    "spine_outside_crop",
    "targets_document",
    "truth_curves",
]
