"""MONAI transforms of monai-spine (installed as ``monai_spine.transforms``); frames in ``docs/frames.md``."""

from .io import LoadRadiograph, LoadRadiographd, LoadVolume, LoadVolumed
from .curves import MaskToCentreLine, MaskToCentreLined, MaskToCurves, MaskToCurvesd
from .masks import CheckSpineMask, CheckSpineMaskd, FileOrientation, FileOrientationd
from .slices import AdjacentSlices, AdjacentSlicesd
