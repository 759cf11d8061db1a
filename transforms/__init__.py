"""MONAI transforms of monai-spine (installed as ``monai_spine.transforms``); frames in ``docs/frames.md``.

Each dictionary transform ``Xd`` is also exported as ``XD`` and ``XDict``, as MONAI does.
"""

from .curves import (
    MaskToCentreLine,
    MaskToCentreLined,
    MaskToCentreLineD,
    MaskToCentreLineDict,
    MaskToCurves,
    MaskToCurvesd,
    MaskToCurvesD,
    MaskToCurvesDict,
)
from .io import (
    LoadRadiograph,
    LoadRadiographd,
    LoadRadiographD,
    LoadRadiographDict,
    LoadVolume,
    LoadVolumed,
    LoadVolumeD,
    LoadVolumeDict,
)
from .masks import (
    CheckSpineMask,
    CheckSpineMaskd,
    CheckSpineMaskD,
    CheckSpineMaskDict,
    FileOrientation,
    FileOrientationd,
    FileOrientationD,
    FileOrientationDict,
)
from .slices import AdjacentSlices, AdjacentSlicesd, AdjacentSlicesD, AdjacentSlicesDict

__all__ = [
    "AdjacentSlices",
    "AdjacentSlicesd",
    "AdjacentSlicesD",
    "AdjacentSlicesDict",
    "CheckSpineMask",
    "CheckSpineMaskd",
    "CheckSpineMaskD",
    "CheckSpineMaskDict",
    "FileOrientation",
    "FileOrientationd",
    "FileOrientationD",
    "FileOrientationDict",
    "LoadRadiograph",
    "LoadRadiographd",
    "LoadRadiographD",
    "LoadRadiographDict",
    "LoadVolume",
    "LoadVolumed",
    "LoadVolumeD",
    "LoadVolumeDict",
    "MaskToCentreLine",
    "MaskToCentreLined",
    "MaskToCentreLineD",
    "MaskToCentreLineDict",
    "MaskToCurves",
    "MaskToCurvesd",
    "MaskToCurvesD",
    "MaskToCurvesDict",
]
