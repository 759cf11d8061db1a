"""Studies rendered from any labelled CT (``monai-spine drr``): sampled acquisitions, DXA-like and bi-planar images,
truth from the vertebra labels, written as the phantom writes its studies (``docs/drr.md``)."""

from .acquisition import GEOMETRIES, Acquisition
from .cohort import iter_drr_studies, make_drr_cohort, study_seed
from .column import SpineColumn, SpineColumnD, SpineColumnd, SpineColumnDict, level_centroids
from .labels import LABEL_SCHEMES, LEVEL_ORDER, LabelledCT, read_labelled_ct
from .render import DrrSource, DrrStudy, dual_energy, prepare_source, render_study
from .write import FILES, write_drr_datalist, write_drr_study
