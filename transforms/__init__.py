"""MONAI transforms of monai-spine (installed as ``monai_spine.transforms``); frames in ``docs/frames.md``."""

from .io import LoadRadiograph, LoadRadiographd, LoadVolume, LoadVolumed
from .curves import MaskToCentreLine, MaskToCentreLined, MaskToCurves, MaskToCurvesd
from .masks import CheckSpineMask, CheckSpineMaskd, FileOrientation, FileOrientationd
from .slices import AdjacentSlices, AdjacentSlicesd
from .randomisation import (
    FOV_PRESETS,
    HU_THRESHOLDS,
    MRI_CONTRASTS,
    FieldOfView,
    RandCollimation,
    RandCollimationd,
    RandGridLines,
    RandGridLinesd,
    RandInvert,
    RandInvertd,
    RandLabelToIntensity,
    RandLabelToIntensityd,
    RandMarkers,
    RandMarkersd,
    RandQuantumNoise,
    RandQuantumNoised,
    RandScatter,
    RandScatterd,
    RandSpineFieldOfView,
    RandSpineFieldOfViewd,
    RandWiresAndButtons,
    RandWiresAndButtonsd,
    TissueLabel,
    ct_to_tissue_labels,
    dxa_randomisation,
    mri_randomisation,
    radiograph_randomisation,
)
