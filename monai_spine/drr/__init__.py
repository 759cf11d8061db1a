"""Studies rendered from any labelled CT (``monai-spine drr``): sampled acquisitions, DXA-like, bi-planar, MRI-like
and CT images, truth from the vertebra labels, written by :mod:`monai_spine.studies` as the phantom's
(``docs/drr.md``)."""

from .acquisition import GEOMETRIES, Acquisition
from .cohort import iter_drr_studies, make_drr_cohort, study_seed, write_drr_datalist
from .column import SpineColumn, SpineColumnD, SpineColumnd, SpineColumnDict, level_centroids
from .labels import LABEL_SCHEMES, LEVEL_ORDER, LabelledCT, read_labelled_ct
from .mri import MRI_CONTRASTS_RENDERED, render_mri
from .render import PATIENT_FRAME, SOFT_TISSUE_MAX_HU, DrrSource, dual_energy, prepare_source, render_study
